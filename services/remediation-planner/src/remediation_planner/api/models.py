"""Request and response bodies of the approval API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["argocd_rollback", "argocd_sync", "k8s_restart", "k8s_scale", "am_silence"]
Status = Literal[
    "pending",
    "approved",
    "rejected",
    "expired",
    "auto",
    "forbidden",
    "succeeded",
    "failed",
    "skipped",
]
# per action, the target keys beyond cluster/namespace/service/environment (contract-planner.md)
TARGET_KEYS: dict[str, tuple[str, ...]] = {
    "argocd_rollback": ("application",),
    "argocd_sync": ("application",),
    "k8s_restart": ("kind", "name"),
    "k8s_scale": ("kind", "name"),
    "am_silence": (),
}
PARAMETER_KEYS: dict[str, tuple[str, ...]] = {
    "argocd_rollback": ("suspect_revision",),
    "argocd_sync": ("revision",),
    "k8s_restart": (),
    "k8s_scale": ("replicas",),
    "am_silence": ("matchers",),
}
BASE_TARGET_KEYS = ("cluster", "namespace", "service", "environment")


class Decision(BaseModel):
    """Why a person approves or rejects."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="Why; kept in the event")


class Proposal(BaseModel):
    """A plan a person proposes; it always needs another person's approval."""

    model_config = ConfigDict(extra="forbid")
    incident_id: str = Field(min_length=1, max_length=253)
    action: Action
    target: dict[str, str] = Field(
        description="cluster, namespace, service, environment and the action's own keys"
    )
    parameters: dict[str, str] = Field(default_factory=dict)
    rationale: str = Field(min_length=1, max_length=2000)


class PlanSummary(BaseModel):
    """One plan in a list."""

    plan_id: str
    incident_id: str
    action: str
    target: dict[str, str]
    status: Status
    gate: str
    gate_rule: str
    proposer: str
    planned_at: datetime
    expires_at: datetime | None


class PlanDetail(PlanSummary):
    """One plan with its evidence: parameters, rationale, incident, decision, execution."""

    parameters: dict[str, str]
    rationale: str
    incident: dict[str, Any] | None
    decision: dict[str, Any] | None
    execution: dict[str, Any] | None


class DecisionResult(BaseModel):
    """What was decided, once Kafka holds it."""

    plan_id: str
    decision: Literal["approved", "rejected"]
    decided_by: str
    role: str
    reason: str
    event_id: str
