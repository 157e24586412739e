"""The API's view of plans and incidents, built from the remediation and incident events.

Fed by replaying the topics from their start (see replay.py) and by the API's own decisions,
so it survives restarts without a store of its own. Thread-safe: the replay thread writes,
request handlers read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson

from cc.events import (
    Event,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    RemediationDecided,
    RemediationExecuted,
    RemediationPlanned,
)


@dataclass(frozen=True)
class Incident:
    """What a person needs to judge a plan: the incident in short."""

    incident_id: str
    title: str = ""
    severity: str = ""
    signature: dict[str, str] = field(default_factory=dict)
    suspect: dict[str, Any] | None = None
    anomalies: int = 0
    alerts: int = 0
    opened_at: str = ""
    resolved_at: str | None = None
    resolution: str = ""


@dataclass(frozen=True)
class PlanState:
    """A plan with its decision and execution, as the events tell."""

    plan: RemediationPlanned
    decision: RemediationDecided | None = None
    execution: RemediationExecuted | None = None

    def status(self, now: datetime) -> str:
        """One of models.Status, as of `now`."""
        if self.plan.gate == "forbidden":
            return "forbidden"
        if self.execution is not None:
            return self.execution.status
        if self.decision is not None:
            return self.decision.decision
        if self.plan.gate == "auto":
            return "auto"
        if self.expired(now):
            return "expired"
        return "pending"

    def expired(self, now: datetime) -> bool:
        """Past its expiry without a decision."""
        expires = self.plan.expires_at
        return expires is not None and expires <= now


class PlanBook:
    """Plans by id and incidents by id; the first decision for a plan is the one that counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, PlanState] = {}
        self._incidents: dict[str, Incident] = {}
        self._early: dict[str, list[Event]] = {}  # decisions/executions seen before their plan

    def apply(self, event: Event) -> None:
        """Fold one event into the view (idempotent for repeats)."""
        with self._lock:
            self._apply(event)

    def _apply(self, event: Event) -> None:
        if isinstance(event, RemediationPlanned):
            if event.plan_id not in self._plans:
                self._plans[event.plan_id] = PlanState(event)
                for early in self._early.pop(event.plan_id, []):
                    self._apply(early)
        elif isinstance(event, RemediationDecided | RemediationExecuted):
            state = self._plans.get(event.plan_id)
            if state is None:
                self._early.setdefault(event.plan_id, []).append(event)
            elif isinstance(event, RemediationDecided):
                if state.decision is None:
                    self._plans[event.plan_id] = replace(state, decision=event)
            else:
                self._plans[event.plan_id] = replace(state, execution=event)
        elif isinstance(event, IncidentOpened | IncidentUpdated | IncidentResolved):
            self._apply_incident(event)

    def _apply_incident(self, event: IncidentOpened | IncidentUpdated | IncidentResolved) -> None:
        current = self._incidents.get(event.incident_id) or Incident(event.incident_id)
        if isinstance(event, IncidentOpened):
            sig = event.signature
            current = replace(
                current,
                title=event.title,
                severity=event.severity,
                signature={k: str(v) for k, v in sig.to_avro().items() if v},
                suspect=_suspect(event.suspect),
                anomalies=len(event.anomaly_ids),
                alerts=len(event.member_fingerprints),
                opened_at=event.metadata.occurred_at.isoformat(),
            )
        elif isinstance(event, IncidentUpdated):
            current = replace(
                current,
                severity=event.severity,
                anomalies=len(event.anomaly_ids),
                alerts=len(event.member_fingerprints),
                suspect=_suspect(event.suspect) or current.suspect,
            )
        else:
            current = replace(
                current,
                resolved_at=event.metadata.occurred_at.isoformat(),
                resolution=event.resolution,
            )
        self._incidents[event.incident_id] = current

    def plan(self, plan_id: str) -> PlanState | None:
        """One plan, or None."""
        with self._lock:
            return self._plans.get(plan_id)

    def incident(self, incident_id: str) -> Incident | None:
        """One incident, or None."""
        with self._lock:
            return self._incidents.get(incident_id)

    def plans(self) -> list[PlanState]:
        """Every plan, newest first."""
        with self._lock:
            states = list(self._plans.values())
        return sorted(states, key=lambda s: s.plan.metadata.occurred_at, reverse=True)


def _suspect(suspect: Any) -> dict[str, Any] | None:
    if suspect is None:
        return None
    return {
        "application": suspect.application,
        "revision": suspect.revision,
        "seconds_before": suspect.seconds_before,
        "score": suspect.score,
    }


def detail_of(execution: RemediationExecuted | None) -> Any:
    """The execution's detail as JSON (or text, if it is not JSON)."""
    if execution is None:
        return None
    try:
        return orjson.loads(execution.detail)
    except orjson.JSONDecodeError:
        return execution.detail
