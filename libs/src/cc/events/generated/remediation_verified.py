"""Generated from schemas/RemediationVerified.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class RemediationVerified:
    """Whether an executed action worked. Key: incident_id."""

    SCHEMA: ClassVar[str] = "commandcenter.RemediationVerified"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    execution_id: str
    """Execution id."""
    plan_id: str
    """Plan id."""
    incident_id: str
    """Incident id."""
    outcome: str
    """worked | did_not_work | inconclusive"""
    evidence: dict[str, str]
    """What was observed after the action."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "execution_id": self.execution_id,
            "plan_id": self.plan_id,
            "incident_id": self.incident_id,
            "outcome": self.outcome,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> RemediationVerified:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            execution_id=data["execution_id"],
            plan_id=data["plan_id"],
            incident_id=data["incident_id"],
            outcome=data["outcome"],
            evidence=data["evidence"],
        )
