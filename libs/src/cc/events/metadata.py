"""Build the shared EventMetadata record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cc.events.generated import EventMetadata

# Namespace for deterministic ids: uuid5(ID_NAMESPACE, "<kind>:<natural key>").
ID_NAMESPACE = uuid.UUID("6f1f0c1e-4a55-4c1b-9d7e-2c0c0a0c0c0c")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only clock the adapters use)."""
    return datetime.now(UTC)


def deterministic_id(kind: str, *parts: str) -> str:
    """A UUID that is the same whenever the same input is seen again (replays, retries)."""
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join((kind, *parts))))


def new_metadata(
    producer: str,
    *,
    occurred_at: datetime,
    event_id: str | None = None,
    caused_by: EventMetadata | None = None,
    incident_id: str | None = None,
) -> EventMetadata:
    """Metadata for a new event; `caused_by` carries correlation and incident ids forward."""
    correlation = None
    if caused_by is not None:
        correlation = caused_by.correlation_id or caused_by.event_id
        incident_id = incident_id or caused_by.incident_id
    return EventMetadata(
        event_id=event_id or str(uuid.uuid4()),
        occurred_at=occurred_at,
        producer=producer,
        correlation_id=correlation,
        incident_id=incident_id,
        causation_id=None if caused_by is None else caused_by.event_id,
    )
