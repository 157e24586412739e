"""Generated from schemas/IncidentResolved.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentResolved:
    """Every member alert resolved and stayed resolved. Key: incident_id."""

    SCHEMA: ClassVar[str] = "commandcenter.IncidentResolved"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    incident_id: str
    """Incident id."""
    opened_at: datetime
    """When it opened."""
    resolution: str
    """How it ended, in words."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "incident_id": self.incident_id,
            "opened_at": self.opened_at,
            "resolution": self.resolution,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> IncidentResolved:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            incident_id=data["incident_id"],
            opened_at=data["opened_at"],
            resolution=data["resolution"],
        )
