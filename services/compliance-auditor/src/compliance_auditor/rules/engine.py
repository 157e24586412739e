"""The rule engine: events and clock ticks in, violations out, cases kept in a key/value state.

State keys: `plan:<plan_id>`, `incident:<incident_id>`, `sync:<application>` (open cases) and
`fired:<violation_id>` (violations already published, so a replay or a second path to the same
violation never publishes it twice). Values are JSON. Pure apart from the state it is given.

Acknowledgement of an incident: the first decision a person (not the policy or an automation)
takes on one of its plans (approved or rejected), or the first plan a person proposes for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from cc.events import (
    DeploymentObserved,
    Event,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    RemediationDecided,
    RemediationExecuted,
    RemediationPlanned,
)
from compliance_auditor.domain.documents import subject_of
from compliance_auditor.rules.cases import (
    Case,
    Violation,
    judge_incident,
    judge_plan,
    judge_sync,
    ts,
    violation,
)
from compliance_auditor.rules.model import DEPLOY_IN_FREEZE, DEPLOY_OUTSIDE_WINDOW, RulesConfig

DEPLOY_TRIGGERS = frozenset(
    {"on-sync-running", "on-sync-succeeded", "on-sync-failed", "on-deployed"}
)
# judging on arrival never finds an absence: that is the clock's job (a reply may be on its
# way from another topic)
NO_CLOCK = datetime.min.replace(tzinfo=UTC)
# published violations are many and only expire: look at them now and then, not every tick
PURGE_EVERY = timedelta(minutes=10)
FAILING_PHASES = frozenset({"Failed", "Error"})
FIXING_ACTIONS = frozenset({"argocd_rollback", "argocd_sync"})
Judge = Callable[[RulesConfig, str, Case, datetime], list[Violation]]
JUDGES: dict[str, Judge] = {"plan": judge_plan, "incident": judge_incident, "sync": judge_sync}


class State(Protocol):
    """Key/value bytes (cc.kafka.state stores)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes | None) -> None: ...

    def items(self) -> Iterator[tuple[str, bytes]]: ...


class RuleEngine:
    """Evaluates the compliance rules over the event stream."""

    def __init__(self, config: RulesConfig, state: State) -> None:
        self.config = config
        self.state = state
        self._next_purge = NO_CLOCK

    def on_event(self, event: Event) -> list[Violation]:
        """Update the cases the event belongs to and return the violations it reveals."""
        at = event.metadata.occurred_at
        if isinstance(event, DeploymentObserved):
            return self._deployment(event)
        if isinstance(event, RemediationPlanned | RemediationDecided | RemediationExecuted):
            found = self._plan(event)
            found += self._acknowledgement(event)
            if isinstance(event, RemediationExecuted):
                found += self._fix_by_remediation(event)
            return found
        if isinstance(event, IncidentOpened | IncidentUpdated | IncidentResolved):
            return self._incident(event, at)
        return []

    def on_clock(self, clock: datetime) -> list[Violation]:
        """Judge every open case against the clock (deadlines); drop cases past retention."""
        found: list[Violation] = []
        horizon = clock - self.config.retention
        purge = clock >= self._next_purge
        if purge:
            self._next_purge = clock + PURGE_EVERY
        for key, raw in self.state.items():
            kind, _, name = key.partition(":")
            if kind == "fired":
                if purge and datetime.fromisoformat(orjson.loads(raw)["at"]) < horizon:
                    self.state.put(key, None)
                continue
            case = orjson.loads(raw)
            found += self._publishable(JUDGES[kind](self.config, name, case, clock))
            if (ts(case.get("touched")) or clock) < horizon:
                self.state.put(key, None)
        return found

    # -- cases --------------------------------------------------------------------------------

    def _load(self, key: str) -> Case:
        raw = self.state.get(key)
        return {} if raw is None else dict(orjson.loads(raw))

    def _save(self, key: str, case: Case, at: datetime) -> None:
        case["touched"] = max(case.get("touched", ""), at.isoformat())
        self.state.put(key, orjson.dumps(case))

    def _judge(self, kind: str, name: str, case: Case) -> list[Violation]:
        """What an arriving event shows; absences wait for `on_clock` (see cases)."""
        return self._publishable(JUDGES[kind](self.config, name, case, NO_CLOCK))

    def _publishable(self, found: list[Violation]) -> list[Violation]:
        """Those not published before; remembers them as published."""
        fresh = []
        for v in found:
            key = f"fired:{v.violation_id}"
            if self.state.get(key) is None:
                self.state.put(key, orjson.dumps({"at": v.at.isoformat(), "rule": v.rule_id}))
                fresh.append(v)
        return fresh

    def _plan(
        self, event: RemediationPlanned | RemediationDecided | RemediationExecuted
    ) -> list[Violation]:
        key = f"plan:{event.plan_id}"
        case = self._load(key)
        at = event.metadata.occurred_at
        case.setdefault("incident_id", event.incident_id)
        if isinstance(event, RemediationPlanned):
            case.update(
                gate=event.gate,
                gate_rule=event.gate_rule,
                proposer=event.proposer,
                action=event.action,
                service=event.target.get("service", ""),
                environment=event.target.get("environment", ""),
                planned_id=event.metadata.event_id,
            )
        elif isinstance(event, RemediationDecided):
            if event.decision == "approved":
                entry = [event.decided_by, at.isoformat(), event.metadata.event_id]
                case["approvals"] = _once(case.get("approvals", []), entry)
        else:
            entry = [event.status, at.isoformat(), event.metadata.event_id]
            case["executions"] = _once(case.get("executions", []), entry)
        self._save(key, case, at)
        return self._judge("plan", event.plan_id, case)

    def _acknowledgement(self, event: Event) -> list[Violation]:
        """A person's decision on a plan, or a person's plan, acknowledges the incident."""
        by: str | None = None
        if isinstance(event, RemediationDecided) and event.decision in ("approved", "rejected"):
            by = event.decided_by
        elif isinstance(event, RemediationPlanned):
            by = event.proposer
        if by is None or not by or by.lower() in self.config.automation_names:
            return []
        incident_id = event.incident_id  # type: ignore[attr-defined]
        key = f"incident:{incident_id}"
        case = self._load(key)
        at = event.metadata.occurred_at
        if case.get("ack_at") is None or at < datetime.fromisoformat(case["ack_at"]):
            case.update(ack_at=at.isoformat(), ack_id=event.metadata.event_id, ack_by=by)
        self._save(key, case, at)
        return self._judge("incident", incident_id, case)

    def _incident(
        self, event: IncidentOpened | IncidentUpdated | IncidentResolved, at: datetime
    ) -> list[Violation]:
        key = f"incident:{event.incident_id}"
        case = self._load(key)
        case["incident_id"] = event.incident_id
        if isinstance(event, IncidentOpened):
            case.update(
                opened_at=at.isoformat(),
                opened_id=event.metadata.event_id,
                title=event.title,
                service=event.signature.service,
                environment=event.signature.environment,
            )
        if isinstance(event, IncidentOpened | IncidentUpdated):
            case["severities"] = sorted({*case.get("severities", []), event.severity})
        if isinstance(event, IncidentResolved):
            case.setdefault("opened_at", event.opened_at.isoformat())
            case.update(resolved_at=at.isoformat(), resolved_id=event.metadata.event_id)
        self._save(key, case, at)
        return self._judge("incident", event.incident_id, case)

    def _deployment(self, event: DeploymentObserved) -> list[Violation]:
        at = event.metadata.occurred_at
        case: Case = {"service": "", "environment": self._environment(event)}
        case["service"] = subject_of("DeploymentObserved", _payload(event))[0]
        found = self._sync(event, case, at)
        if event.trigger in DEPLOY_TRIGGERS:
            found += self._publishable(self._window_rules(event, case))
        return found

    def _environment(self, event: DeploymentObserved) -> str:
        labelled = subject_of("DeploymentObserved", _payload(event))[1]
        return labelled or self.config.environment_of(
            {
                "application": event.application,
                "project": event.project,
                "namespace": event.namespace,
                "cluster": event.cluster,
            }
        )

    def _window_rules(self, event: DeploymentObserved, case: Case) -> list[Violation]:
        if not self.config.is_production(case["environment"]):
            return []
        when = event.started_at or event.metadata.occurred_at
        # every trigger of one sync operation names the same deploy (and so the same violation)
        deploy = (event.application, event.revision, str(event.started_at or event.history_id))
        who = event.initiator or "unknown"
        found = []
        freeze = self.config.freeze_of(when)
        settings = self.config.rule(DEPLOY_IN_FREEZE)
        if freeze is not None and settings.enabled:
            text = f"{event.application}@{event.revision[:12]} deployed to production by {who} "
            found.append(
                violation(
                    DEPLOY_IN_FREEZE,
                    settings,
                    deploy,
                    case,
                    text + f"at {when.isoformat()}, during the freeze {freeze.name!r}",
                    [event.metadata.event_id],
                    when,
                )
            )
        settings = self.config.rule(DEPLOY_OUTSIDE_WINDOW)
        if settings.enabled and self.config.window_of(when) is None:
            found.append(
                violation(
                    DEPLOY_OUTSIDE_WINDOW,
                    settings,
                    deploy,
                    case,
                    f"{event.application}@{event.revision[:12]} deployed to production by {who} "
                    f"at {when.isoformat()}, outside every change window",
                    [event.metadata.event_id],
                    when,
                )
            )
        return found

    def _sync(self, event: DeploymentObserved, fresh: Case, at: datetime) -> list[Violation]:
        key = f"sync:{event.application}"
        case = self._load(key)
        failure = _failure(event)
        if failure and "failed_at" not in case:
            case = {
                **fresh,
                "failed_at": at.isoformat(),
                "failed_id": event.metadata.event_id,
                "failure": failure,
                "revision": event.revision,
            }
        elif not failure and _healthy(event) and "failed_at" in case:
            return self._fixed(key, event.application, case, event.metadata.event_id, at)
        else:
            return []
        self._save(key, case, at)
        return self._judge("sync", event.application, case)

    def _fix_by_remediation(self, event: RemediationExecuted) -> list[Violation]:
        application = event.target.get("application", "")
        key = f"sync:{application}"
        if event.action not in FIXING_ACTIONS or event.status != "succeeded":
            return []
        case = self._load(key)
        if "failed_at" not in case:
            return []
        return self._fixed(
            key, application, case, event.metadata.event_id, event.metadata.occurred_at
        )

    def _fixed(
        self, key: str, app: str, case: Case, event_id: str, at: datetime
    ) -> list[Violation]:
        if at < datetime.fromisoformat(case["failed_at"]):
            return []  # an older success seen late fixes nothing
        case.update(fixed_at=at.isoformat(), fixed_id=event_id)
        found = self._judge("sync", app, case)
        self.state.put(key, None)  # closed: the next failure opens a new case
        return found


def _once(entries: list[list[str]], entry: list[str]) -> list[list[str]]:
    """The entries plus `entry`, unless an entry of the same event (a replay) is there."""
    return entries if any(e[2] == entry[2] for e in entries) else [*entries, entry]


def _payload(event: DeploymentObserved) -> dict[str, Any]:
    return {"application": event.application, "raw": event.raw}


def _failure(event: DeploymentObserved) -> str:
    """Why this deploy event shows a failure ('' when it does not)."""
    if event.trigger == "on-sync-failed" or event.operation_phase in FAILING_PHASES:
        return f"sync {event.operation_phase or 'failed'}"
    if event.trigger == "on-health-degraded" or event.health_status == "Degraded":
        return "health Degraded"
    return ""


def _healthy(event: DeploymentObserved) -> bool:
    """A deploy that ended well: deployed, or synced and healthy."""
    if event.trigger == "on-deployed":
        return True
    return event.health_status == "Healthy" and event.sync_status == "Synced"
