"""Settings of the remediation-planner (env prefix REMEDIATION_PLANNER_, shared CC_* for Kafka)."""

from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """What the remediation-planner reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="REMEDIATION_PLANNER_", extra="ignore")

    http_port: int = 18083
    """Port of /healthz, /readyz, /metrics (and, later, the approval API)."""
