"""The approval API (FastAPI). Every route names its minimum role; every decision and proposal
is an event Kafka has acknowledged before the 2xx.

No `from __future__ import annotations` here: FastAPI resolves the route signatures, which
name dependencies built inside `create_app`."""

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, status
from prometheus_client import CollectorRegistry

from cc.events import (
    Event,
    RemediationDecided,
    RemediationPlanned,
    deterministic_id,
    new_metadata,
)
from cc.kafka import ProduceError
from cc.platform.auth import Principal, Role, TokenTable, require_role
from cc.platform.http import NO_NATIVE_TELEMETRY, ReadinessCheck, ops_router
from remediation_planner.api.models import (
    BASE_TARGET_KEYS,
    PARAMETER_KEYS,
    TARGET_KEYS,
    Decision,
    DecisionResult,
    PlanDetail,
    PlanSummary,
    Proposal,
    Status,
)
from remediation_planner.api.read_model import PlanBook, PlanState, detail_of
from remediation_planner.domain.policy import Policy
from remediation_planner.domain.policy import decide as gate_of
from remediation_planner.domain.runbooks import blast_radius

SERVICE = "remediation-planner"
PLANNED = "remediation.remediation-planned.v1"
DECIDED = "remediation.remediation-decided.v1"
FOUR_EYES_RULE = "four-eyes: a plan proposed by a person needs another person's approval"
PlanId = Annotated[str, Path(min_length=1, max_length=253, description="Plan id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or expired bearer token"},
    403: {"description": "Role too low, or the proposer approving their own plan"},
    404: {"description": "No such plan"},
    409: {"description": "The plan cannot be decided: expired, decided, automatic or forbidden"},
    503: {"description": "Kafka did not acknowledge the event; nothing was decided"},
}


class Publisher(Protocol):
    """What the API needs of the producer (EventProducer)."""

    async def send_batch_async(self, records: Sequence[tuple[str, str, Any]]) -> None: ...

    def ready(self) -> bool: ...


def field_error(loc: list[str], message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    return HTTPException(422, [{"loc": loc, "msg": message, "type": "value_error"}])


def create_app(
    book: PlanBook,
    producer: Publisher,
    tokens: TokenTable,
    *,
    registry: CollectorRegistry,
    clock: Callable[[], datetime],
    plan_ttl: timedelta = timedelta(hours=1),
    ack_timeout_s: float = 10.0,
    checks: dict[str, ReadinessCheck] | None = None,
    policy: Policy | None = None,
) -> FastAPI:
    """The approval API app, with /healthz, /readyz and /metrics."""
    app = FastAPI(
        title="Command Center remediation approvals",
        version="0.1.0",
        description="Plans proposed for incidents, their evidence, and the people's decisions. "
        "Bearer tokens map to roles viewer < operator < approver < admin.",
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.include_router(ops_router(registry, {"kafka": producer.ready, **(checks or {})}))
    app.include_router(
        approval_router(
            book,
            producer,
            tokens,
            clock=clock,
            plan_ttl=plan_ttl,
            ack_timeout_s=ack_timeout_s,
            policy=policy,
        )
    )
    return app


def approval_router(
    book: PlanBook,
    producer: Publisher,
    tokens: TokenTable,
    *,
    clock: Callable[[], datetime],
    plan_ttl: timedelta = timedelta(hours=1),
    ack_timeout_s: float = 10.0,
    policy: Policy | None = None,
) -> APIRouter:
    """The /api/v1/plans routes (to serve beside other routers on one port). With a policy, a
    proposal the policy forbids is refused (403) and allowed ones name the rule in gate_rule."""
    viewer = Depends(require_role(tokens, Role.VIEWER))
    operator = Depends(require_role(tokens, Role.OPERATOR))
    approver = Depends(require_role(tokens, Role.APPROVER))
    decide_lock = asyncio.Lock()
    api = APIRouter(prefix="/api/v1", tags=["plans"], responses=ERRORS)

    async def publish(topic: str, key: str, event: Event) -> None:
        try:
            await asyncio.wait_for(
                producer.send_batch_async([(topic, key, event)]), timeout=ack_timeout_s
            )
        except (ProduceError, TimeoutError) as exc:
            raise HTTPException(503, f"Kafka did not acknowledge: {exc}") from None
        book.apply(event)

    @api.get("/plans", summary="List plans (auth: viewer)")
    async def list_plans(
        who: Annotated[Principal, viewer],
        status_: Annotated[Status | None, Query(alias="status")] = None,
        incident_id: Annotated[str | None, Query(max_length=253)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[PlanSummary]:
        """Newest first; filter by status and incident."""
        now = clock()
        found = []
        for state in book.plans():
            if incident_id is not None and state.plan.incident_id != incident_id:
                continue
            if status_ is not None and state.status(now) != status_:
                continue
            found.append(summary(state, now))
            if len(found) >= limit:
                break
        return found

    @api.get("/plans/{plan_id}", summary="One plan with its evidence (auth: viewer)")
    async def get_plan(plan_id: PlanId, who: Annotated[Principal, viewer]) -> PlanDetail:
        """The plan, its incident, rationale, decision and execution."""
        return detail(known(plan_id), clock())

    def known(plan_id: str) -> PlanState:
        state = book.plan(plan_id)
        if state is None:
            raise HTTPException(404, f"no plan {plan_id}")
        return state

    def detail(state: PlanState, now: datetime) -> PlanDetail:
        incident = book.incident(state.plan.incident_id)
        decision = state.decision
        return PlanDetail(
            **summary(state, now).model_dump(),
            parameters=dict(state.plan.parameters),
            rationale=state.plan.rationale,
            incident=None if incident is None else asdict(incident),
            decision=None
            if decision is None
            else {
                "decision": decision.decision,
                "decided_by": decision.decided_by,
                "role": decision.role,
                "reason": decision.reason,
                "at": decision.metadata.occurred_at,
            },
            execution=None
            if state.execution is None
            else {
                "execution_id": state.execution.execution_id,
                "status": state.execution.status,
                "detail": detail_of(state.execution),
            },
        )

    async def decide(plan_id: str, verdict: str, who: Principal, reason: str) -> DecisionResult:
        async with decide_lock:  # one decision at a time: the check and the event go together
            state = known(plan_id)
            now = clock()
            plan = state.plan
            if plan.gate != "needs_approval":
                raise HTTPException(
                    409,
                    f"plan {plan_id} is {plan.gate} ({plan.gate_rule}): there is nothing to decide",
                )
            if state.decision is not None:
                raise HTTPException(
                    409,
                    f"plan {plan_id} was already {state.decision.decision} by "
                    f"{state.decision.decided_by}",
                )
            if state.expired(now):
                raise HTTPException(
                    409, f"plan {plan_id} expired at {plan.expires_at}; propose it again"
                )
            if verdict == "approved" and who.name == plan.proposer:
                raise HTTPException(
                    403, f"four eyes: {who.name} proposed plan {plan_id} and cannot approve it"
                )
            event = RemediationDecided(
                metadata=new_metadata(
                    SERVICE,
                    occurred_at=now,
                    event_id=deterministic_id("remediation-decided", plan_id, verdict, who.name),
                    incident_id=plan.incident_id,
                ),
                plan_id=plan_id,
                incident_id=plan.incident_id,
                decision=verdict,
                decided_by=who.name,
                role=who.role.value,
                reason=reason,
            )
            await publish(DECIDED, plan.incident_id, event)
        return DecisionResult(
            plan_id=plan_id,
            decision=verdict,  # type: ignore[arg-type]  # "approved" | "rejected"
            decided_by=who.name,
            role=who.role.value,
            reason=reason,
            event_id=event.metadata.event_id,
        )

    @api.post(
        "/plans/{plan_id}/approve", summary="Approve a plan (auth: approver; not its proposer)"
    )
    async def approve(
        plan_id: PlanId, body: Decision, who: Annotated[Principal, approver]
    ) -> DecisionResult:
        """Publish RemediationDecided(approved); the executors then run the plan once."""
        return await decide(plan_id, "approved", who, body.reason)

    @api.post("/plans/{plan_id}/reject", summary="Reject a plan (auth: approver)")
    async def reject(
        plan_id: PlanId, body: Decision, who: Annotated[Principal, approver]
    ) -> DecisionResult:
        """Publish RemediationDecided(rejected); the plan is never executed."""
        return await decide(plan_id, "rejected", who, body.reason)

    @api.post(
        "/plans",
        status_code=status.HTTP_201_CREATED,
        summary="Propose a plan for an incident (auth: operator; needs another's approval)",
    )
    async def propose(body: Proposal, who: Annotated[Principal, operator]) -> PlanDetail:
        """Publish RemediationPlanned(gate=needs_approval, proposer=you)."""
        if book.incident(body.incident_id) is None:
            raise field_error(["body", "incident_id"], f"no incident {body.incident_id}")
        for key in (*BASE_TARGET_KEYS, *TARGET_KEYS[body.action]):
            if not body.target.get(key):
                raise field_error(["body", "target", key], f"{body.action} needs target.{key}")
        for key in PARAMETER_KEYS[body.action]:
            if not body.parameters.get(key):
                raise field_error(
                    ["body", "parameters", key], f"{body.action} needs parameters.{key}"
                )
        now = clock()
        gate_rule = FOUR_EYES_RULE
        if policy is not None:
            incident = book.incident(body.incident_id)
            members = incident.alerts if incident is not None else 1
            verdict = gate_of(
                policy,
                environment=body.target["environment"],
                action=body.action,
                blast_radius=blast_radius(body.action, body.parameters, members),
                at=now,
                automatic_last_hour=0,  # a person's proposal is never automatic
                service=body.target["service"],
            )
            if verdict.gate == "forbidden":
                raise HTTPException(403, f"policy forbids this plan: {verdict.reason}")
            gate_rule = f"{FOUR_EYES_RULE}; policy {verdict.rule}: {verdict.reason}"
        plan_id = str(uuid.uuid4())  # a person may propose the same action twice: two plans
        event = RemediationPlanned(
            metadata=new_metadata(
                SERVICE,
                occurred_at=now,
                event_id=deterministic_id("remediation-planned", plan_id),
                incident_id=body.incident_id,
            ),
            plan_id=plan_id,
            incident_id=body.incident_id,
            action=body.action,
            target=dict(body.target),
            parameters=dict(body.parameters),
            gate="needs_approval",
            gate_rule=gate_rule,
            proposer=who.name,
            rationale=body.rationale,
            expires_at=now + plan_ttl,
        )
        await publish(PLANNED, body.incident_id, event)
        return detail(known(plan_id), now)

    return api


def summary(state: PlanState, now: datetime) -> PlanSummary:
    """The list view of a plan."""
    plan = state.plan
    return PlanSummary(
        plan_id=plan.plan_id,
        incident_id=plan.incident_id,
        action=plan.action,
        target=dict(plan.target),
        status=state.status(now),  # type: ignore[arg-type]  # one of STATUSES
        gate=plan.gate,
        gate_rule=plan.gate_rule,
        proposer=plan.proposer,
        planned_at=plan.metadata.occurred_at,
        expires_at=plan.expires_at,
    )
