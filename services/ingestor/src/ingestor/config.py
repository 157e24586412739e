"""Settings of the ingestor (env prefix INGESTOR_, shared CC_* for Kafka)."""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """What the ingestor reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="INGESTOR_", extra="ignore")

    http_port: int = 18080
    """Port of the webhooks, /docs, /healthz, /readyz, /metrics."""
    workers: int = 1
    """uvicorn worker processes sharing the port (one per core is a good start)."""
    alertmanager_token: SecretStr | None = None
    """Bearer token Alertmanager must send (http_config.authorization.credentials)."""
    alertmanager_token_file: Path | None = None
    """File holding that token (read at start; wins over alertmanager_token)."""
    max_body_bytes: int = 1_048_576
    """Larger requests get 413."""
    kafka_ack_timeout_s: float = 5.0
    """If Kafka has not acknowledged within this, answer 503 so the sender retries."""
    retry_after_s: int = 5
    """Retry-After sent with 503."""

    def alertmanager_secret(self) -> str | None:
        """The token, from the file when one is configured."""
        if self.alertmanager_token_file is not None:
            return self.alertmanager_token_file.read_text().strip()
        if self.alertmanager_token is not None:
            return self.alertmanager_token.get_secret_value()
        return None
