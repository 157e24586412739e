"""Generated from schemas/RemediationExecuted.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class RemediationExecuted:
    """An action was carried out (or refused). Key: incident_id."""

    SCHEMA: ClassVar[str] = "commandcenter.RemediationExecuted"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    execution_id: str
    """Idempotency key of the execution."""
    plan_id: str
    """Plan id."""
    incident_id: str
    """Incident id."""
    action: str
    """Action run."""
    target: dict[str, str]
    """What it ran against."""
    status: str
    """succeeded | failed | skipped"""
    detail: str = ""
    """Responses and checks, as text/JSON."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "execution_id": self.execution_id,
            "plan_id": self.plan_id,
            "incident_id": self.incident_id,
            "action": self.action,
            "target": dict(self.target),
            "status": self.status,
            "detail": self.detail,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> RemediationExecuted:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            execution_id=data["execution_id"],
            plan_id=data["plan_id"],
            incident_id=data["incident_id"],
            action=data["action"],
            target=data["target"],
            status=data["status"],
            detail=data["detail"],
        )
