"""Settings of the anomaly-detector (env prefix ANOMALY_DETECTOR_, shared CC_* for Kafka)."""

from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """What the anomaly-detector reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="ANOMALY_DETECTOR_", extra="ignore")

    http_port: int = 18082
    """Port of /healthz, /readyz, /metrics."""
