"""Generated from schemas/IncidentOpened.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata
from cc.events.generated.signature import Signature
from cc.events.generated.suspect_deployment import SuspectDeployment


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentOpened:
    """A new incident. Key: incident_id."""

    SCHEMA: ClassVar[str] = "commandcenter.IncidentOpened"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    incident_id: str
    """Incident id."""
    title: str
    """Short title."""
    severity: str
    """critical | high | warning | info"""
    signature: Signature
    """Topology the incident groups."""
    anomaly_ids: list[str]
    """Anomalies grouped so far."""
    member_fingerprints: list[str]
    """Alerts grouped so far."""
    suspect: SuspectDeployment | None = None
    """Suspect change, if any."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "incident_id": self.incident_id,
            "title": self.title,
            "severity": self.severity,
            "signature": self.signature.to_avro(),
            "anomaly_ids": list(self.anomaly_ids),
            "member_fingerprints": list(self.member_fingerprints),
            "suspect": None if self.suspect is None else self.suspect.to_avro(),
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> IncidentOpened:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            incident_id=data["incident_id"],
            title=data["title"],
            severity=data["severity"],
            signature=Signature.from_avro(data["signature"]),
            anomaly_ids=data["anomaly_ids"],
            member_fingerprints=data["member_fingerprints"],
            suspect=None
            if data["suspect"] is None
            else SuspectDeployment.from_avro(data["suspect"]),
        )
