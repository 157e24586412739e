"""Generated from schemas/AlertReceived.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from cc.events.generated.alert_group import AlertGroup
from cc.events.generated.event_metadata import EventMetadata

AlertStatus = Literal["firing", "resolved"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertReceived:
    """One alert state (firing or resolved) received from a source. Key: fingerprint."""

    SCHEMA: ClassVar[str] = "commandcenter.AlertReceived"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    source: str
    """Where it came from: 'alertmanager' or the name of a generic webhook mapping."""
    fingerprint: str
    """Stable hash of the alert's label set; same for firing and resolved."""
    status: AlertStatus
    """Alert state."""
    alertname: str
    """labels.alertname, or '' when absent."""
    labels: dict[str, str]
    """Every label of the alert."""
    annotations: dict[str, str]
    """Every annotation of the alert."""
    starts_at: datetime
    """When the alert started firing."""
    ends_at: datetime | None = None
    """When it resolved; null while firing (Alertmanager sends 0001-01-01T00:00:00Z)."""
    generator_url: str = ""
    """Link to the alert's source expression; may be empty."""
    group: AlertGroup | None = None
    """The notification the alert arrived in, when the source groups alerts."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "source": self.source,
            "fingerprint": self.fingerprint,
            "status": self.status,
            "alertname": self.alertname,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "generator_url": self.generator_url,
            "group": None if self.group is None else self.group.to_avro(),
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> AlertReceived:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            source=data["source"],
            fingerprint=data["fingerprint"],
            status=data["status"],
            alertname=data["alertname"],
            labels=data["labels"],
            annotations=data["annotations"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            generator_url=data["generator_url"],
            group=None if data["group"] is None else AlertGroup.from_avro(data["group"]),
        )
