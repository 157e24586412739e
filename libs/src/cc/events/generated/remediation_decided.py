"""Generated from schemas/RemediationDecided.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class RemediationDecided:
    """A plan was approved or rejected. Key: incident_id."""

    SCHEMA: ClassVar[str] = "commandcenter.RemediationDecided"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    plan_id: str
    """Plan id."""
    incident_id: str
    """Incident id."""
    decision: str
    """approved | rejected | expired | auto_approved"""
    decided_by: str
    """User name, or 'policy'."""
    role: str = ""
    """Role of the decider."""
    reason: str = ""
    """Reason given."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "plan_id": self.plan_id,
            "incident_id": self.incident_id,
            "decision": self.decision,
            "decided_by": self.decided_by,
            "role": self.role,
            "reason": self.reason,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> RemediationDecided:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            plan_id=data["plan_id"],
            incident_id=data["incident_id"],
            decision=data["decision"],
            decided_by=data["decided_by"],
            role=data["role"],
            reason=data["reason"],
        )
