"""The execution loop: plans and decisions in, actions against the world, RemediationExecuted out.

gate=auto executes at once; needs_approval waits for an `approved` RemediationDecided (the
first decision for a plan wins); forbidden never executes. Plans, decisions and every
execution's progress live in a Kafka-backed state store, so a restart resumes an execution
where it stopped and never repeats a finished one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from opentelemetry import trace

from cc.events import (
    DeploymentObserved,
    IncidentResolved,
    RemediationDecided,
    RemediationExecuted,
    RemediationPlanned,
    deterministic_id,
    new_metadata,
)
from cc.kafka import Outgoing, Received
from remediation_planner.executors.argocd import FAILED_PHASES, ArgoCdExecutor
from remediation_planner.executors.http import ActionError
from remediation_planner.executors.kubernetes import KubernetesExecutor
from remediation_planner.executors.records import (
    FAILED,
    SKIPPED,
    Execution,
    Plan,
    Progress,
    Store,
    execution_id_of,
    observed_health,
)
from remediation_planner.executors.silences import SilenceExecutor

log = logging.getLogger(__name__)
SERVICE = "remediation-planner"
PLANNED = "remediation.remediation-planned.v1"
DECIDED = "remediation.remediation-decided.v1"
EXECUTED = "remediation.remediation-executed.v1"
RESOLVED = "incidents.incident-resolved.v1"
DEPLOYMENTS = "deployments.deployment-observed.v1"
TOPICS = [PLANNED, DECIDED, RESOLVED, DEPLOYMENTS]
EXPIRY_GRACE = timedelta(seconds=60)
"""An approval produced just before expiry may still be on its way: wait this long for it."""


@dataclass
class Executors:
    """The configured executors; None = that system is not configured here."""

    argocd: ArgoCdExecutor | None
    kubernetes: KubernetesExecutor | None
    silences: SilenceExecutor | None


class ExecutionHandler:
    """Decides whether a plan runs, runs it once, and expires silences of resolved incidents."""

    def __init__(self, store: Store, executors: Executors, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.executors = executors
        self.clock = clock
        self._waiting: dict[str, datetime] | None = None  # plan id -> expiry, built on 1st tick

    # ---- state ----------------------------------------------------------------------------

    def _json(self, key: str, default: Any) -> Any:
        raw = self.store.get(key)
        return default if raw is None else orjson.loads(raw)

    def _plan(self, plan_id: str) -> Plan | None:
        raw = self.store.get(f"plan:{plan_id}")
        return None if raw is None else Plan.load(raw)

    # ---- events ---------------------------------------------------------------------------

    def on_event(self, item: Received) -> list[Outgoing]:
        """Dispatch by event type."""
        event = item.event
        if isinstance(event, RemediationPlanned):
            return self.on_remediation_planned(item, event)
        if isinstance(event, RemediationDecided):
            return self.on_remediation_decided(item, event)
        if isinstance(event, IncidentResolved):
            return self.on_incident_resolved(event)
        if isinstance(event, DeploymentObserved):
            return self.on_deployment_observed(event)
        return []

    def on_remediation_planned(self, item: Received, event: RemediationPlanned) -> list[Outgoing]:
        """Keep the plan; run it if automatic, record a skip if forbidden, else wait."""
        plan = Plan.from_event(event)
        if self.store.get(f"plan:{plan.plan_id}") is None:
            self.store.put(f"plan:{plan.plan_id}", plan.dump())
            if self.store.get(f"decision:{plan.plan_id}") is None:
                self._index(plan)
        if plan.gate == "auto":
            return self._execute(plan, item)
        if plan.gate == "forbidden":
            return self._skip(plan, item, f"forbidden by policy rule {plan.gate_rule!r}")
        decision = self._json(f"decision:{plan.plan_id}", None)
        return [] if decision is None else self._apply(plan, decision, item)

    def on_remediation_decided(self, item: Received, event: RemediationDecided) -> list[Outgoing]:
        """The first decision for a plan counts; an approval runs the plan once."""
        key = f"decision:{event.plan_id}"
        decision = self._json(key, None)
        if decision is None:
            decision = _decision_record(event)
            self.store.put(key, orjson.dumps(decision))
            if self._waiting is not None:
                self._waiting.pop(event.plan_id, None)
        elif decision["event_id"] != event.metadata.event_id:
            log.info("later decision ignored", extra={"plan_id": event.plan_id})
            return []
        plan = self._plan(event.plan_id)
        return [] if plan is None else self._apply(plan, decision, item)

    def on_incident_resolved(self, event: IncidentResolved) -> list[Outgoing]:
        """Expire the silences executions created for the incident."""
        self.store.put(f"resolved:{event.incident_id}", b"1")
        key = f"silences:{event.incident_id}"
        silences: list[dict[str, Any]] = self._json(key, [])
        if not silences or self.executors.silences is None:
            return []
        for silence in silences:
            if silence.get("expired_status") is None:
                try:
                    status, answer = self.executors.silences.expire(silence["silence_id"])
                except ActionError as exc:  # refused for good: recorded, not retried forever
                    status, answer = 0, str(exc)
                silence["expired_status"] = status
                silence["expired_at"] = self.clock().isoformat()
                self._note_expiry(silence["execution_id"], status, answer)
                self.store.put(key, orjson.dumps(silences))  # each one, before the next call
                log.info("silence expired", extra={"silence_id": silence["silence_id"]})
        return []

    def _note_expiry(self, execution_id: str, status: int, answer: Any) -> None:
        raw = self.store.get(f"exec:{execution_id}")
        if raw is not None:
            execution = Execution.load(raw)
            execution.steps.append({"step": "expire_silence", "status": status, "response": answer})
            execution.progress["silence_expired"] = True
            self.store.put(f"exec:{execution_id}", execution.dump())

    def on_deployment_observed(self, event: DeploymentObserved) -> list[Outgoing]:
        """Remember how each revision of an application fared (rollback targets)."""
        if event.operation_phase in FAILED_PHASES:
            health = str(event.operation_phase)
        elif event.health_status:
            health = event.health_status
        else:
            return []
        observed = observed_health(self.store, event.application)
        observed[event.revision] = health
        self.store.put(f"health:{event.application}", orjson.dumps(observed))
        return []

    def tick(self, now: datetime) -> Sequence[Outgoing]:
        """Expire plans still waiting for approval a grace period after their expiry: a
        RemediationDecided(expired) from "policy", and the execution recorded as skipped."""
        if self._waiting is None:  # first tick: index the waiting plans of the loaded state
            self._waiting = {}
            for key, raw in self.store.items():
                if key.startswith("plan:") and self.store.get(f"decision:{key[5:]}") is None:
                    self._index(Plan.load(raw))
        due = [pid for pid, at in self._waiting.items() if at + EXPIRY_GRACE <= now]
        outputs: list[Outgoing] = []
        for plan_id in due:
            del self._waiting[plan_id]
            plan = self._plan(plan_id)
            if plan is None or self.store.get(f"decision:{plan_id}") is not None:
                continue
            event = expired_decision(plan, now)
            self.store.put(f"decision:{plan_id}", orjson.dumps(_decision_record(event)))
            cause = Received(event, DECIDED, 0, 0, plan.incident_id, [], trace.INVALID_SPAN)
            outputs.append(Outgoing(DECIDED, plan.incident_id, event))
            outputs += self._apply(plan, _decision_record(event), cause)
        return outputs

    def _index(self, plan: Plan) -> None:
        if self._waiting is not None and plan.gate == "needs_approval" and plan.expires_at:
            self._waiting[plan.plan_id] = datetime.fromisoformat(plan.expires_at)

    # ---- running --------------------------------------------------------------------------

    def _apply(self, plan: Plan, decision: dict[str, Any], item: Received) -> list[Outgoing]:
        verdict = decision["decision"]
        if verdict == "rejected":
            return []
        if verdict == "expired":
            return self._skip(plan, item, "the plan expired without approval")
        if verdict != "approved":
            return []
        if plan.gate == "forbidden":
            return self._skip(plan, item, "forbidden plans are never executed, even approved")
        if plan.expired_at(datetime.fromisoformat(decision["at"])):
            return self._skip(plan, item, f"approved after the plan expired at {plan.expires_at}")
        return self._execute(plan, item)

    def _record(self, plan: Plan) -> Execution:
        execution_id = execution_id_of(plan.plan_id)
        raw = self.store.get(f"exec:{execution_id}")
        if raw is not None:
            return Execution.load(raw)
        return Execution(execution_id, plan.plan_id, plan.incident_id, plan.action, plan.target)

    def _skip(self, plan: Plan, item: Received, reason: str) -> list[Outgoing]:
        execution = self._record(plan)
        if not execution.finished:
            Progress(execution, self.store).finish(SKIPPED, reason)
        return [self._executed(execution, item)]

    def _execute(self, plan: Plan, item: Received) -> list[Outgoing]:
        execution = self._record(plan)
        if execution.finished:  # a retry or a redelivery: report again, never act again
            return [self._executed(execution, item)]
        progress = Progress(execution, self.store)
        try:
            self._run(plan, progress)
        except ActionError as exc:
            progress.finish(FAILED, str(exc))
        if plan.action == "am_silence" and "silence_id" in execution.progress:
            self._remember_silence(plan.incident_id, execution)
        log.info(
            "executed",
            extra={"plan_id": plan.plan_id, "action": plan.action, "status": execution.status},
        )
        return [self._executed(execution, item)]

    def _run(self, plan: Plan, p: Progress) -> str:
        ex = self.executors
        if plan.action in ("argocd_rollback", "argocd_sync"):
            if ex.argocd is None:
                return p.finish(FAILED, "no Argo CD is configured (REMEDIATION_PLANNER_ARGOCD_URL)")
            if plan.action == "argocd_rollback":
                return ex.argocd.rollback(plan, p)
            return ex.argocd.sync(plan, p)
        if plan.action in ("k8s_restart", "k8s_scale"):
            if ex.kubernetes is None:
                return p.finish(FAILED, "no Kubernetes API is configured")
            if plan.action == "k8s_restart":
                return ex.kubernetes.restart(plan, p)
            return ex.kubernetes.scale(plan, p)
        if plan.action == "am_silence":
            if ex.silences is None:
                return p.finish(FAILED, "no Alertmanager is configured")
            if self.store.get(f"resolved:{plan.incident_id}") is not None:
                return p.finish(SKIPPED, "the incident is already resolved")
            return ex.silences.create(plan, p)
        return p.finish(FAILED, f"unknown action {plan.action!r}")

    def _remember_silence(self, incident_id: str, execution: Execution) -> None:
        key = f"silences:{incident_id}"
        silences: list[dict[str, Any]] = self._json(key, [])
        silence_id = execution.progress["silence_id"]
        if all(s["silence_id"] != silence_id for s in silences):
            silences.append({"silence_id": silence_id, "execution_id": execution.execution_id})
            self.store.put(key, orjson.dumps(silences))

    def _executed(self, execution: Execution, item: Received) -> Outgoing:
        event = RemediationExecuted(
            metadata=new_metadata(
                SERVICE,
                occurred_at=self.clock(),
                event_id=deterministic_id("remediation-executed", execution.execution_id),
                caused_by=item.event.metadata,
                incident_id=execution.incident_id,
            ),
            execution_id=execution.execution_id,
            plan_id=execution.plan_id,
            incident_id=execution.incident_id,
            action=execution.action,
            target=dict(execution.target),
            status=execution.status,
            detail=execution.detail(),
        )
        return Outgoing(EXECUTED, execution.incident_id, event, cause=item)


def _decision_record(event: RemediationDecided) -> dict[str, Any]:
    return {
        "event_id": event.metadata.event_id,
        "decision": event.decision,
        "decided_by": event.decided_by,
        "at": event.metadata.occurred_at.isoformat(),
    }


def expired_decision(plan: Plan, now: datetime) -> RemediationDecided:
    """The decision that closes a plan nobody approved in time."""
    return RemediationDecided(
        metadata=new_metadata(
            SERVICE,
            occurred_at=now,
            event_id=deterministic_id("remediation-decided", plan.plan_id, "expired", "policy"),
            incident_id=plan.incident_id,
        ),
        plan_id=plan.plan_id,
        incident_id=plan.incident_id,
        decision="expired",
        decided_by="policy",
        role="",
        reason=f"not approved by {plan.expires_at}",
    )
