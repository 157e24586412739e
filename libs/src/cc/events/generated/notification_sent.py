"""Generated from schemas/NotificationSent.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationSent:
    """A person was told (or the attempt failed for good). Key: dedup_key."""

    SCHEMA: ClassVar[str] = "commandcenter.NotificationSent"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    notification_id: str
    """Id of this notification."""
    channel: str
    """slack | pagerduty | teams"""
    destination: str
    """Route/channel name (never a secret URL)."""
    dedup_key: str
    """Stable dedup key."""
    subject_event_id: str
    """event_id of the event that caused it."""
    incident_id: str | None = None
    """Incident, when the subject has one."""
    status: str
    """delivered | failed | suppressed"""
    attempts: int
    """Delivery attempts made."""
    response: str = ""
    """Last response status and body (truncated)."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "notification_id": self.notification_id,
            "channel": self.channel,
            "destination": self.destination,
            "dedup_key": self.dedup_key,
            "subject_event_id": self.subject_event_id,
            "incident_id": self.incident_id,
            "status": self.status,
            "attempts": self.attempts,
            "response": self.response,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> NotificationSent:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            notification_id=data["notification_id"],
            channel=data["channel"],
            destination=data["destination"],
            dedup_key=data["dedup_key"],
            subject_event_id=data["subject_event_id"],
            incident_id=data["incident_id"],
            status=data["status"],
            attempts=data["attempts"],
            response=data["response"],
        )
