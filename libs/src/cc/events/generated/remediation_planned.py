"""Generated from schemas/RemediationPlanned.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class RemediationPlanned:
    """A proposed fix and its gate. Key: incident_id."""

    SCHEMA: ClassVar[str] = "commandcenter.RemediationPlanned"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    plan_id: str
    """Plan id."""
    incident_id: str
    """Incident id."""
    action: str
    """argocd_rollback | argocd_sync | rollout_restart | scale | silence | none"""
    target: dict[str, str]
    """What the action is against (application, namespace, deployment...)."""
    parameters: dict[str, str]
    """Action parameters."""
    gate: str
    """auto | needs_approval | forbidden"""
    gate_rule: str
    """The policy rule that decided the gate."""
    proposer: str
    """Who proposed it: 'remediation-planner' or a person."""
    rationale: str
    """Why this action, in words."""
    expires_at: datetime | None = None
    """When an unapproved plan expires."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "plan_id": self.plan_id,
            "incident_id": self.incident_id,
            "action": self.action,
            "target": dict(self.target),
            "parameters": dict(self.parameters),
            "gate": self.gate,
            "gate_rule": self.gate_rule,
            "proposer": self.proposer,
            "rationale": self.rationale,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> RemediationPlanned:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            plan_id=data["plan_id"],
            incident_id=data["incident_id"],
            action=data["action"],
            target=data["target"],
            parameters=data["parameters"],
            gate=data["gate"],
            gate_rule=data["gate_rule"],
            proposer=data["proposer"],
            rationale=data["rationale"],
            expires_at=data["expires_at"],
        )
