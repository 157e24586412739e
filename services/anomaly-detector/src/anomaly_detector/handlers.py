"""Contract events in, contract events out: alerts and deploys -> the detectors -> anomalies."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import orjson

from anomaly_detector.domain.detector import AlertDetectors
from anomaly_detector.domain.findings import Finding, Suspect
from anomaly_detector.ports import StateStore
from cc.events import (
    AlertReceived,
    AnomalyDetected,
    DeploymentObserved,
    EventMetadata,
    Signature,
    SuspectDeployment,
    deterministic_id,
    new_metadata,
)
from cc.kafka import Outgoing, Received

SERVICE = "anomaly-detector"
ALERTS_TOPIC = "alerts.alert-received.v1"
DEPLOYMENTS_TOPIC = "deployments.deployment-observed.v1"
ANOMALIES_TOPIC = "anomalies.anomaly-detected.v1"
STATE_TOPIC = "anomaly-detector.state.alerts.v1"


def anomaly_id_of(finding: Finding) -> str:
    """The anomaly's id: the same for every phase of one storm, the same after a replay."""
    return deterministic_id("anomaly", finding.key)


def event_id_of(anomaly_id: str, phase: str) -> str:
    """The event id of one phase of one anomaly."""
    return deterministic_id("anomaly-detected", anomaly_id, phase)


def anomaly_of(finding: Finding, caused_by: EventMetadata | None) -> AnomalyDetected:
    """The `AnomalyDetected` for a finding; phases after the first are caused by the first."""
    anomaly_id = anomaly_id_of(finding)
    at = _time(finding.at)
    event_id = event_id_of(anomaly_id, finding.phase)
    if caused_by is not None:
        metadata = new_metadata(SERVICE, occurred_at=at, event_id=event_id, caused_by=caused_by)
    else:  # time-driven (an end): linked to the anomaly's `started` event
        started = event_id_of(anomaly_id, "started")
        metadata = EventMetadata(
            event_id=event_id,
            occurred_at=at,
            producer=SERVICE,
            correlation_id=started,
            causation_id=started,
        )
    s = finding.suspect
    return AnomalyDetected(
        metadata=metadata,
        anomaly_id=anomaly_id,
        kind=finding.kind,
        phase=finding.phase,
        score=finding.score,
        signature=Signature(**finding.sig._asdict()),
        window_start=_time(finding.window_start),
        window_end=_time(finding.window_end),
        summary=finding.summary,
        evidence=finding.evidence,
        member_fingerprints=finding.members,
        suspect=None if s is None else suspect_record(s),
    )


def suspect_record(suspect: Suspect) -> SuspectDeployment:
    """The suspect deploy as the event's record."""
    return SuspectDeployment(
        application=suspect.application,
        revision=suspect.revision,
        deployment_event_id=suspect.deployment_event_id,
        seconds_before=suspect.seconds_before,
        score=suspect.score,
    )


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class AlertHandlers:
    """The alert detectors behind the consumer loop: message handler, tick and state flush."""

    def __init__(self, detectors: AlertDetectors, state: StateStore) -> None:
        self.detectors = detectors
        self.state = state
        self._watermark = float("-inf")
        """The latest event time handled."""
        self._busy = False
        """Events were handled since the last tick."""
        self._idle_since: float | None = None

    def restore(self) -> int:
        """Load the detectors' state from the store (call once, before consuming)."""
        count = 0
        for key, value in self.state.items():
            self.detectors.restore(key, orjson.loads(value))
            count += 1
        self.detectors.reindex()
        return count

    def on_message(self, item: Received) -> list[Outgoing]:
        """An alert state or a deploy -> the anomalies it reveals (a deploy: only when reported
        after the storm it explains had begun)."""
        event = item.event
        self._busy = True
        self._watermark = max(self._watermark, event.metadata.occurred_at.timestamp())
        if isinstance(event, AlertReceived):
            findings = self.detectors.on_alert(
                event.fingerprint,
                event.status == "firing",
                event.labels,
                event.starts_at.timestamp(),
                None if event.ends_at is None else event.ends_at.timestamp(),
            )
            return [self._outgoing(f, event.metadata, item) for f in findings]
        if isinstance(event, DeploymentObserved):
            findings = self.on_deployment_observed(event)
            return [self._outgoing(f, event.metadata, item) for f in findings]
        return []

    def on_deployment_observed(self, event: DeploymentObserved) -> list[Finding]:
        """Remember a deploy as a possible suspect for bursts that follow it."""
        return self.detectors.on_deploy(
            event.trigger,
            event.application,
            event.namespace,
            event.revision,
            event.metadata.event_id,
            None if event.started_at is None else event.started_at.timestamp(),
            None if event.finished_at is None else event.finished_at.timestamp(),
            event.metadata.occurred_at.timestamp(),
        )

    def tick(self, now: datetime) -> list[Outgoing]:
        """Time-driven results: storms and flapping episodes whose end has passed the horizon.

        End times come from the alerts' own times. The horizon follows event time (the latest
        event handled) while events flow, so a backlog replayed after a restart extends what is
        open instead of ending it; only after `lateness_seconds` without any event does it
        follow the clock. Either way it stays `lateness_seconds` behind, for late alerts.
        """
        wall = now.timestamp()
        lateness = self.detectors.p.lateness_seconds
        if self._busy:
            self._busy, self._idle_since = False, None
        elif self._idle_since is None:
            self._idle_since = wall
        idle = self._idle_since is not None and wall - self._idle_since >= lateness
        horizon = min(wall, wall if idle else self._watermark) - lateness
        return [self._outgoing(f, None, None) for f in self.detectors.tick(horizon)]

    def flush(self) -> list[Future[Any]]:
        """Write the changed state; the loop awaits the futures before committing offsets."""
        for key, value in self.detectors.changes():
            self.state.put(key, None if value is None else orjson.dumps(value))
        return self.state.flush()

    def _outgoing(
        self, finding: Finding, caused_by: EventMetadata | None, item: Received | None
    ) -> Outgoing:
        anomaly = anomaly_of(finding, caused_by)
        sig = anomaly.signature
        key = "|".join((sig.service, sig.namespace, sig.alertname))
        return Outgoing(ANOMALIES_TOPIC, key, anomaly, cause=item)
