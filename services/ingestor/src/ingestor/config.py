"""Settings of the ingestor (env prefix INGESTOR_, shared CC_* for Kafka)."""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings
from ingestor.adapters.auth import Credentials

SOURCES = ("alertmanager", "argocd", "prometheus", "generic")


class Settings(ServiceSettings):
    """What the ingestor reads from the environment.

    Credentials per source (`<source>` is alertmanager, argocd, prometheus or generic):
    `INGESTOR_<SOURCE>_TOKEN` or `..._TOKEN_FILE` (one token per line, several allowed for
    rotation) and `INGESTOR_<SOURCE>_BASIC_AUTH` or `..._BASIC_AUTH_FILE` (`user:password`, one
    per line). A source with no credentials refuses every request.
    """

    model_config = SettingsConfigDict(env_prefix="INGESTOR_", extra="ignore")

    http_port: int = 18080
    """Port of the webhooks, /docs, /healthz, /readyz, /metrics."""
    workers: int = 1
    """uvicorn worker processes sharing the port (one per core is a good start)."""
    max_body_bytes: int = 1_048_576
    """Larger requests get 413."""
    kafka_ack_timeout_s: float = 5.0
    """If Kafka has not acknowledged within this, answer 503 so the sender retries."""
    retry_after_s: int = 5
    """Retry-After sent with 503."""

    alertmanager_token: SecretStr | None = None
    alertmanager_token_file: Path | None = None
    alertmanager_basic_auth: SecretStr | None = None
    alertmanager_basic_auth_file: Path | None = None
    argocd_token: SecretStr | None = None
    argocd_token_file: Path | None = None
    argocd_basic_auth: SecretStr | None = None
    argocd_basic_auth_file: Path | None = None
    prometheus_token: SecretStr | None = None
    prometheus_token_file: Path | None = None
    prometheus_basic_auth: SecretStr | None = None
    prometheus_basic_auth_file: Path | None = None
    generic_token: SecretStr | None = None
    generic_token_file: Path | None = None
    generic_basic_auth: SecretStr | None = None
    generic_basic_auth_file: Path | None = None

    def credentials(self, source: str) -> Credentials:
        """The tokens and user/password pairs a source may present (files read now)."""
        tokens = _values(getattr(self, f"{source}_token"), getattr(self, f"{source}_token_file"))
        pairs = _values(
            getattr(self, f"{source}_basic_auth"), getattr(self, f"{source}_basic_auth_file")
        )
        basic = []
        for pair in pairs:
            user, sep, password = pair.partition(":")
            if not sep or not user:
                raise ValueError(f"INGESTOR_{source.upper()}_BASIC_AUTH: expected user:password")
            basic.append((user, password))
        return Credentials(tuple(tokens), tuple(basic))


def _values(inline: SecretStr | None, file: Path | None) -> list[str]:
    values = [] if inline is None else [inline.get_secret_value()]
    if file is not None:
        values += [line.strip() for line in file.read_text().splitlines() if line.strip()]
    return values
