"""Settings of the compliance-auditor (env prefix COMPLIANCE_AUDITOR_, shared CC_* for Kafka)."""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings, shared


class Settings(ServiceSettings):
    """What the compliance-auditor reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="COMPLIANCE_AUDITOR_", extra="ignore")

    http_port: int = 18084
    """Port of /healthz, /readyz, /metrics and the audit API."""
    elasticsearch_url: str = "http://127.0.0.1:19200"
    """Elasticsearch HTTP endpoint."""
    elasticsearch_api_key: SecretStr | None = None
    """API key for Elasticsearch, when security is on."""
    elasticsearch_timeout_s: float = 30.0
    """Longest wait for one Elasticsearch request; slower counts as down (pause and retry)."""
    index_prefix: str = "cc-audit"
    """Monthly indices are <prefix>-YYYY.MM behind the alias <prefix>."""
    index_template: Path | None = None
    """Index template file; default: deploy/elasticsearch/audit-index-template.json."""
    consumer_batch_size: int = shared(  # type: ignore[assignment]
        "CC_CONSUMER_BATCH_SIZE",
        4000,
        "Most messages per batch: several bulk requests, written while the next is built",
    )
    bulk_docs: int = 1000
    """Documents per bulk request (chosen with bench/audit, see the README)."""
    bulk_bytes: int = 8_000_000
    """Most bytes (roughly) per bulk request."""
    topics: str = ""
    """Comma-separated topics to audit; empty: every topic of the table but the anchor topic."""
    anchor_topic: str = "audit.chain-anchor.v1"
    """Where chain heads are published."""
    anchor_interval_s: float = 30.0
    """How often moved chain heads are published."""
    tokens_file: Path | None = None
    """`name:role:token` lines for the audit API; unset (and no JWT secret): every call is 401."""
    jwt_secret: SecretStr | None = None
    """HS256 secret for bearer JWTs (claims sub, role, exp), as an alternative to tokens."""
    rules_enabled: bool = True
    """Check the compliance rules (a second loop, group `<group>.rules`)."""
    rules_file: Path | None = None
    """Compliance rules YAML; unset: deploy/compliance-auditor/rules.yaml as shipped."""
