"""Contract events in, contract events out: incidents, plans, verifications, learning.

One consumer loop runs `on_batch` and `tick` in one thread, so the state needs no locks. State
changes are written to the stores at the end of each batch and tick; the loop flushes the stores
before it commits input offsets.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import orjson
from confluent_kafka import Message

from cc.events import (
    AlertReceived,
    AnomalyDetected,
    DeploymentObserved,
    EventMetadata,
    RemediationExecuted,
    RemediationVerified,
    deterministic_id,
)
from cc.kafka import Outgoing, Received
from cc.kafka.state import MemoryStateStore
from remediation_planner import messages, state
from remediation_planner.domain.incidents import AnomalyIn, Incident, IncidentBook, Suspect
from remediation_planner.domain.learning import Outcomes
from remediation_planner.domain.openings import decode as decode_opening
from remediation_planner.domain.planning import draft_plan, learning_signature
from remediation_planner.domain.policy import AutomationLedger, Policy
from remediation_planner.domain.runbooks import Runbook
from remediation_planner.domain.suspects import Deploy, is_successful_deploy, suspect_for
from remediation_planner.domain.verification import Watch, verdict, watch_for
from remediation_planner.ports import StateStore

ANOMALIES = "anomalies.anomaly-detected.v1"
ALERTS = "alerts.alert-received.v1"
DEPLOYMENTS = "deployments.deployment-observed.v1"
EXECUTED = "remediation.remediation-executed.v1"
OPENED = "incidents.incident-opened.v1"
UPDATED = "incidents.incident-updated.v1"
RESOLVED = "incidents.incident-resolved.v1"
PLANNED = "remediation.remediation-planned.v1"
VERIFIED = "remediation.remediation-verified.v1"
CONSUMES = [ANOMALIES, ALERTS, DEPLOYMENTS, EXECUTED, VERIFIED]
URGENT = frozenset({"severity", "suspect"})  # published at once; member counts wait for a tick


@dataclass(frozen=True)
class Timing:
    """The planner's windows and periods."""

    group_window: timedelta = timedelta(minutes=15)
    suspect_window: timedelta = timedelta(minutes=30)
    quiet_period: timedelta = timedelta(minutes=5)
    update_interval: timedelta = timedelta(seconds=10)
    verify_period: timedelta = timedelta(minutes=10)
    retention: timedelta = timedelta(days=1)


class FlushedStore(StateStore, Protocol):
    """A store the planner itself flushes (and waits for) in the middle of a batch."""

    def flush(self) -> list[Future[Message]]: ...


@dataclass(frozen=True)
class Stores:
    """Where the planner keeps its state."""

    incidents: StateStore
    outcomes: StateStore
    automation: StateStore
    openings: FlushedStore = field(default_factory=MemoryStateStore)
    """Ids of opened incidents, stored before their IncidentOpened is published."""


class Planner:
    """Groups anomalies and alerts into incidents, plans, verifies and learns."""

    def __init__(
        self, *, runbooks: tuple[Runbook, ...], policy: Policy, timing: Timing, stores: Stores
    ) -> None:
        self.runbooks = runbooks
        self.policy = policy
        self.timing = timing
        self.stores = stores
        self.book = IncidentBook(window=timing.group_window)
        self.outcomes = Outcomes()
        self.ledger = AutomationLedger()
        self.deploys: dict[str, Deploy] = {}
        self.watches: dict[str, Watch] = {}
        self.plans: dict[str, dict[str, str]] = {}
        self._causes: dict[str, EventMetadata] = {}

    def load(self) -> dict[str, int]:
        """Rebuild the working state from the (already loaded) stores."""
        counts = state.load_book(self.book, self.stores.incidents)
        for _, value in self.stores.openings.items():
            self.book.openings.restore(decode_opening(value))
        for key, value in self.stores.incidents.items():
            kind, _, rest = key.partition("/")
            if kind == "d":
                self.deploys[rest] = state.decode_deploy(value)
            elif kind == "w":
                self.watches[rest] = state.decode_watch(value)
            elif kind == "p":
                self.plans[rest] = orjson.loads(value)
        counts["outcomes"] = state.load_outcomes(self.outcomes, self.stores.outcomes)
        counts["automatic_actions"] = state.load_ledger(self.ledger, self.stores.automation)
        counts["watches"] = len(self.watches)
        return counts

    def on_batch(self, items: list[Received]) -> list[Outgoing]:
        """Handle a batch of any of the consumed events; publish what changed."""
        out: list[Outgoing] = []
        for item in items:
            try:
                out += self._dispatch(item)
            except Exception as exc:  # noqa: BLE001 - one poison message must not stop the rest
                item.error = exc  # the loop sends it to the dead-letter topic
        state.save_changes(self.book, self.stores.incidents)
        self._store_openings()
        return out

    def _store_openings(self) -> None:
        """Store the ids of incidents opened in this batch before anything is published: if
        the planner dies before it saves the incidents, the replay (whichever anomaly of the
        storm comes first) reopens them under the ids already published."""
        written = self.book.openings.drain()
        for key, value in written:
            self.stores.openings.put(key, value)
        for future in self.stores.openings.flush() if written else []:
            future.result(timeout=60)  # an error stops the service: nothing is published

    def _dispatch(self, item: Received) -> list[Outgoing]:
        event = item.event
        if isinstance(event, AnomalyDetected):
            return self.on_anomaly_detected(item)
        if isinstance(event, AlertReceived):
            self.on_alert_received(event)
        elif isinstance(event, DeploymentObserved):
            return self.on_deployment_observed(event)
        elif isinstance(event, RemediationExecuted):
            self.on_remediation_executed(event)
        elif isinstance(event, RemediationVerified):
            self.on_remediation_verified(event)
        return []

    def on_anomaly_detected(self, item: Received) -> list[Outgoing]:
        """Group the anomaly; a new incident is opened and planned for at once."""
        event = item.event
        assert isinstance(event, AnomalyDetected)
        at = event.metadata.occurred_at
        signature = event.signature.to_avro()
        # the detector's suspect first; else the planner's own look at recent deploys, before
        # grouping, so that a new deploy of the same service makes a new incident
        suspect = None if event.suspect is None else Suspect(**event.suspect.to_avro())
        if suspect is None and event.phase != "ended":
            suspect = self._suspect(signature, at)
        anomaly = AnomalyIn(
            anomaly_id=event.anomaly_id,
            kind=event.kind,
            phase=event.phase,
            score=event.score,
            at=at,
            signature=signature,
            summary=event.summary,
            fingerprints=tuple(event.member_fingerprints),
            suspect=suspect,
            pages=event.evidence.get("page", "true") != "false",
        )
        change = self.book.add_anomaly(
            anomaly, new_incident_id=deterministic_id("incident", event.anomaly_id)
        )
        if change is None:
            return []
        incident = change.incident
        self._causes[incident.incident_id] = event.metadata
        if change.opened:
            incident.pending.clear()
            opened = messages.incident_opened(incident, event.metadata)
            return [
                Outgoing(OPENED, incident.incident_id, opened, cause=item),
                *self._plan(incident, at, event.metadata, item),
            ]
        return self._urgent_update(incident, at, item)

    def on_alert_received(self, event: AlertReceived) -> None:
        """Track member alerts (their resolution ends incidents); join alerts to incidents."""
        change = self.book.observe_alert(
            event.fingerprint,
            firing=event.status == "firing",
            at=event.metadata.occurred_at,
            labels=event.labels,
        )
        if change is not None and change.reasons:
            self._causes[change.incident.incident_id] = event.metadata

    def on_deployment_observed(self, event: DeploymentObserved) -> list[Outgoing]:
        """Remember successful deploys; name one as suspect of an open incident it fits."""
        if not is_successful_deploy(event.trigger, event.operation_phase):
            return []
        deploy = Deploy(
            application=event.application,
            namespace=event.namespace,
            cluster=event.cluster,
            revision=event.revision,
            event_id=event.metadata.event_id,
            at=event.finished_at or event.metadata.occurred_at,
        )
        self.deploys[deploy.application] = deploy
        self.stores.incidents.put(f"d/{deploy.application}", state.encode_deploy(deploy))
        out: list[Outgoing] = []
        for incident in list(self.book.incidents.values()):
            if incident.open and incident.suspect is None:
                found = self._suspect(incident.signature, incident.opened_at, [deploy])
                if found is not None:
                    self.book.set_suspect(incident, found)
                    self._causes[incident.incident_id] = event.metadata
                    out += self._urgent_update(incident, event.metadata.occurred_at, None)
        return out

    def on_remediation_executed(self, event: RemediationExecuted) -> None:
        """A succeeded action starts a verification watch over the incident's alerts."""
        if event.status != "succeeded" or event.execution_id in self.watches:
            return
        incident = self.book.incidents.get(event.incident_id)
        if incident is None:
            return
        plan = self.plans.get(event.plan_id, {})
        at = event.metadata.occurred_at
        watch = watch_for(
            incident,
            execution_id=event.execution_id,
            plan_id=event.plan_id,
            action=event.action,
            signature=plan.get("signature") or learning_signature(incident),
            executed_at=at,
            deadline=at + self.timing.verify_period,
        )
        self.watches[watch.execution_id] = watch
        self.stores.incidents.put(f"w/{watch.execution_id}", state.encode_watch(watch))

    def on_remediation_verified(self, event: RemediationVerified) -> None:
        """Count a verified outcome for its (incident signature, action)."""
        plan = self.plans.get(event.plan_id, {})
        signature = event.evidence.get("signature") or plan.get("signature")
        action = event.evidence.get("action") or plan.get("action")
        if not signature or not action:
            return
        success = event.outcome == "resolved"
        if self.outcomes.add(event.execution_id, signature, action, success=success):
            state.save_outcome(
                self.stores.outcomes, event.execution_id, signature, action, success=success
            )

    def tick(self, now: datetime) -> list[Outgoing]:
        """Time-driven work: quiet periods over, coalesced updates, verifications, retention."""
        out: list[Outgoing] = []
        quiet = self.timing.quiet_period
        for incident in self.book.due_resolutions(now, quiet):
            resolved = messages.incident_resolved(incident, quiet.total_seconds())
            out.append(Outgoing(RESOLVED, incident.incident_id, resolved))
        for incident in self.book.due_updates(now, self.timing.update_interval):
            out += self._update(incident, now, None)
        for watch in [w for w in self.watches.values() if w.deadline <= now]:
            out += self._verify(watch, now)
        for incident in self.book.expired(now, self.timing.retention):
            state.forget(incident, self.stores.incidents)
            for key in self.book.openings.drop(incident.incident_id):
                self.stores.openings.put(key, None)
            for plan_id in [
                p for p, r in self.plans.items() if r["incident_id"] == incident.incident_id
            ]:
                del self.plans[plan_id]
                self.stores.incidents.put(f"p/{plan_id}", None)
            self._causes.pop(incident.incident_id, None)
        for service, plan_id in self.ledger.prune(now):
            self.stores.automation.put(state.ledger_key(service, plan_id), None)
        state.save_changes(self.book, self.stores.incidents)
        return out

    # -- internals ------------------------------------------------------------------------

    def _suspect(
        self, signature: dict[str, str], began: datetime, deploys: list[Deploy] | None = None
    ) -> Suspect | None:
        return suspect_for(
            list(self.deploys.values()) if deploys is None else deploys,
            service=signature.get("service", ""),
            namespace=signature.get("namespace", ""),
            began=began,
            window=self.timing.suspect_window,
        )

    def _urgent_update(
        self, incident: Incident, at: datetime, item: Received | None
    ) -> list[Outgoing]:
        if not incident.pending & URGENT:
            return []
        replan = "suspect" in incident.pending
        out = self._update(incident, at, item)
        if replan:
            out += self._plan(incident, at, self._causes.get(incident.incident_id), item)
        return out

    def _update(self, incident: Incident, at: datetime, item: Received | None) -> list[Outgoing]:
        reasons = self.book.mark_published(incident, at)
        cause = self._causes.get(incident.incident_id)
        updated = messages.incident_updated(incident, reasons, at, cause)
        return [Outgoing(UPDATED, incident.incident_id, updated, cause=item)]

    def _plan(
        self,
        incident: Incident,
        at: datetime,
        cause: EventMetadata | None,
        item: Received | None,
        *,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Outgoing]:
        """Plan the best action not yet proposed for this incident (nothing if it was)."""
        draft = draft_plan(
            incident,
            runbooks=self.runbooks,
            policy=self.policy,
            outcomes=self.outcomes,
            ledger=self.ledger,
            at=at,
            exclude=exclude,
        )
        if draft is None or draft.candidate.action in incident.planned_actions:
            return []
        action = draft.candidate.action
        plan_id = deterministic_id(
            "plan", incident.incident_id, action, str(len(incident.planned_actions))
        )
        incident.planned_actions.append(action)
        self.book.changes.add(("incident", incident.incident_id))
        record = {
            "incident_id": incident.incident_id,
            "action": action,
            "signature": draft.signature,
        }
        self.plans[plan_id] = record
        self.stores.incidents.put(f"p/{plan_id}", orjson.dumps(record))
        if draft.decision.gate == "auto" and self.ledger.add(incident.topology, plan_id, at):
            key = state.ledger_key(incident.topology, plan_id)
            self.stores.automation.put(key, at.isoformat().encode())
        planned = messages.remediation_planned(incident, draft, plan_id, at, cause)
        return [Outgoing(PLANNED, incident.incident_id, planned, cause=item)]

    def _verify(self, watch: Watch, now: datetime) -> list[Outgoing]:
        incident = self.book.incidents.get(watch.incident_id)
        outcome, evidence = verdict(watch, incident)
        del self.watches[watch.execution_id]
        self.stores.incidents.put(f"w/{watch.execution_id}", None)
        verified = messages.remediation_verified(watch, outcome, evidence, now)
        out = [Outgoing(VERIFIED, watch.incident_id, verified)]
        if outcome != "resolved" and incident is not None and incident.open:
            # the action did not help: propose the next untried candidate
            tried = frozenset(incident.planned_actions)
            out += self._plan(incident, now, verified.metadata, None, exclude=tried)
        return out
