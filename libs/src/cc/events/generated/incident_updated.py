"""Generated from schemas/IncidentUpdated.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata
from cc.events.generated.suspect_deployment import SuspectDeployment


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentUpdated:
    """An incident changed (members, severity, suspect). Key: incident_id."""

    SCHEMA: ClassVar[str] = "commandcenter.IncidentUpdated"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    incident_id: str
    """Incident id."""
    severity: str
    """Current severity."""
    anomaly_ids: list[str]
    """All anomalies grouped."""
    member_fingerprints: list[str]
    """All alerts grouped."""
    suspect: SuspectDeployment | None = None
    """Suspect change, if any."""
    change: str
    """What changed, in words."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "incident_id": self.incident_id,
            "severity": self.severity,
            "anomaly_ids": list(self.anomaly_ids),
            "member_fingerprints": list(self.member_fingerprints),
            "suspect": None if self.suspect is None else self.suspect.to_avro(),
            "change": self.change,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> IncidentUpdated:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            incident_id=data["incident_id"],
            severity=data["severity"],
            anomaly_ids=data["anomaly_ids"],
            member_fingerprints=data["member_fingerprints"],
            suspect=None
            if data["suspect"] is None
            else SuspectDeployment.from_avro(data["suspect"]),
            change=data["change"],
        )
