"""Settings of the compliance-auditor (env prefix COMPLIANCE_AUDITOR_, shared CC_* for Kafka)."""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """What the compliance-auditor reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="COMPLIANCE_AUDITOR_", extra="ignore")

    http_port: int = 18084
    """Port of /healthz, /readyz, /metrics (and, later, the audit API)."""
    elasticsearch_url: str = "http://127.0.0.1:19200"
    """Elasticsearch HTTP endpoint."""
    elasticsearch_api_key: SecretStr | None = None
    """API key for Elasticsearch, when security is on."""
    index_prefix: str = "cc-audit"
    """Monthly indices are <prefix>-YYYY.MM behind the alias <prefix>."""
    index_template: Path | None = None
    """Index template file; default: deploy/elasticsearch/audit-index-template.json."""
