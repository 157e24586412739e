"""Building remediation events (plans, decisions, resolutions) in tests, as the planner would."""

from __future__ import annotations

from datetime import datetime, timedelta

from cc.events import (
    IncidentResolved,
    RemediationDecided,
    RemediationPlanned,
    deterministic_id,
    new_metadata,
)
from cc.testing.events import T0

SERVICE = "remediation-planner"


def planned(
    plan_id: str,
    action: str,
    target: dict[str, str],
    parameters: dict[str, str] | None = None,
    *,
    gate: str = "auto",
    incident_id: str = "inc-1",
    proposer: str = SERVICE,
    at: datetime = T0,
    expires_in: timedelta | None = None,
) -> RemediationPlanned:
    """A RemediationPlanned (expires_in set for plans that wait for approval)."""
    base = {"cluster": "prod-1", "namespace": "shop", "service": "web", "environment": "prod"}
    return RemediationPlanned(
        metadata=new_metadata(
            SERVICE,
            occurred_at=at,
            event_id=deterministic_id("remediation-planned", plan_id),
            incident_id=incident_id,
        ),
        plan_id=plan_id,
        incident_id=incident_id,
        action=action,
        target=base | target,
        parameters=parameters or {},
        gate=gate,
        gate_rule=f"test rule: {gate}",
        proposer=proposer,
        rationale=f"{action} because the test says so",
        expires_at=None if expires_in is None else at + expires_in,
    )


def decided(
    plan: RemediationPlanned,
    decision: str = "approved",
    *,
    by: str = "bob",
    role: str = "approver",
    at: datetime | None = None,
    reason: str = "looks right",
) -> RemediationDecided:
    """A RemediationDecided for a plan."""
    return RemediationDecided(
        metadata=new_metadata(
            SERVICE,
            occurred_at=at or plan.metadata.occurred_at + timedelta(minutes=1),
            event_id=deterministic_id("remediation-decided", plan.plan_id, decision, by),
            incident_id=plan.incident_id,
        ),
        plan_id=plan.plan_id,
        incident_id=plan.incident_id,
        decision=decision,
        decided_by=by,
        role=role,
        reason=reason,
    )


def resolved(incident_id: str, at: datetime = T0) -> IncidentResolved:
    """An IncidentResolved."""
    return IncidentResolved(
        metadata=new_metadata(
            SERVICE,
            occurred_at=at + timedelta(hours=1),
            event_id=deterministic_id("incident-resolved", incident_id),
            incident_id=incident_id,
        ),
        incident_id=incident_id,
        opened_at=at,
        resolution="every member alert resolved",
    )
