"""Settings shared by every service. Each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def shared(name: str, default: object, description: str) -> object:
    """A field every service reads from the same `CC_*` variable."""
    return Field(default=default, validation_alias=AliasChoices(name), description=description)


class ServiceSettings(BaseSettings):
    """Kafka, schema registry, HTTP and logging settings common to the five services."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_bootstrap: str = shared(  # type: ignore[assignment]
        "CC_KAFKA_BOOTSTRAP", "127.0.0.1:19092", "Kafka bootstrap servers (host:port,...)"
    )
    schema_registry_url: str | None = shared(  # type: ignore[assignment]
        "CC_SCHEMA_REGISTRY_URL",
        None,
        "Confluent-compatible schema registry; unset = Avro single-object encoding",
    )
    log_level: str = shared("CC_LOG_LEVEL", "INFO", "Log level")  # type: ignore[assignment]
    http_host: str = shared("CC_HTTP_HOST", "127.0.0.1", "Address the HTTP server binds")  # type: ignore[assignment]
    consumer_batch_size: int = shared(  # type: ignore[assignment]
        "CC_CONSUMER_BATCH_SIZE", 500, "Most messages handled (and committed) per batch"
    )
    consumer_group: str | None = shared(  # type: ignore[assignment]
        "CC_CONSUMER_GROUP", None, "Kafka consumer group; default: the service name"
    )
    consumer_instance_id: str | None = shared(  # type: ignore[assignment]
        "CC_CONSUMER_INSTANCE_ID",
        None,
        "Static group membership id (e.g. the pod name): a restarted instance takes its "
        "partitions back at once instead of waiting out the session timeout",
    )
    consumer_session_timeout_ms: int = shared(  # type: ignore[assignment]
        "CC_CONSUMER_SESSION_TIMEOUT_MS", 45000, "How long a silent consumer keeps its partitions"
    )
