"""Generated from schemas/EventMetadata.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class EventMetadata:
    """Metadata every event carries."""

    SCHEMA: ClassVar[str] = "commandcenter.EventMetadata"

    event_id: str
    """UUID; deterministic where the input allows, so a replayed webhook gives the same id."""
    occurred_at: datetime
    """When the fact happened (UTC)."""
    producer: str
    """Service that produced the event, e.g. 'ingestor'."""
    correlation_id: str | None = None
    """Groups events of one causal chain (the id of the root event)."""
    incident_id: str | None = None
    """Incident this event belongs to, once known."""
    causation_id: str | None = None
    """event_id of the event this one was derived from."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "producer": self.producer,
            "correlation_id": self.correlation_id,
            "incident_id": self.incident_id,
            "causation_id": self.causation_id,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> EventMetadata:
        """Build from a record as fastavro reads it."""
        return cls(
            event_id=str(data["event_id"]),
            occurred_at=data["occurred_at"],
            producer=data["producer"],
            correlation_id=data["correlation_id"],
            incident_id=data["incident_id"],
            causation_id=data["causation_id"],
        )
