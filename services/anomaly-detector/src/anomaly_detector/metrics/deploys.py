"""Recent deploys for the metric loop: which deploy, if any, a metric shift points at.

The metric loop runs in its own thread and consumer group, so it keeps its own `RecentDeploys`
(the alert detectors' rules: same application, or same namespace, within the window after the
rollout) fed from deployments.deployment-observed.v1, and keeps it in its own state store under
`#deploy/<application>` ('#' cannot start a Prometheus metric name, so it never meets a series
key). A metric shift's series names its application through the same labels as an alert
(`application`, `app_kubernetes_io_instance`, `service`, `app`, `job`).

Deploys and samples come from different topics, so a deploy may be handled after the shift it
explains. Episodes that opened without a suspect are remembered (in memory: after a restart only
new ones) until they can no longer fit a deploy; a deploy that fits one turns it into a
`deploy_regression` of its own, as a late-reported deploy does to an alert storm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from anomaly_detector.domain.deploys import Deploy, RecentDeploys
from anomaly_detector.domain.findings import Suspect
from anomaly_detector.domain.params import DeployParams
from anomaly_detector.domain.signature import signature_of
from anomaly_detector.handlers import ANOMALIES_TOPIC, SERVICE, suspect_record
from cc.events import (
    AnomalyDetected,
    DeploymentObserved,
    Signature,
    deterministic_id,
    new_metadata,
)
from cc.kafka import Outgoing, Received
from cc.kafka.state import StateStore

PREFIX = "#deploy/"
CAPACITY = 10_000
"""Applications remembered; the least recently deployed are forgotten first."""


@dataclass(frozen=True)
class OpenShift:
    """An episode that opened with no suspect: what a deploy reported later needs."""

    key: str
    metric: str
    labels: dict[str, str]
    signature: dict[str, str]
    """The anomaly's signature as the handler made it."""
    score: float


class MetricDeploys:
    """Deploys seen by the metric loop, kept in its state store."""

    def __init__(self, params: DeployParams, store: StateStore) -> None:
        self.params = params
        self.store = store
        self.recent = RecentDeploys(params, CAPACITY)
        self.unexplained: dict[int, OpenShift] = {}  # series row -> its open episode
        for key, value in store.items():
            if key.startswith(PREFIX):
                self.recent.restore(key[len(PREFIX) :], orjson.loads(value))

    def observe(self, event: DeploymentObserved) -> None:
        """Remember a deploy (other Argo CD notifications are ignored) and store it."""
        if not self.recent.relevant(event.trigger):
            return
        at = event.metadata.occurred_at.timestamp()
        end = at if event.finished_at is None else event.finished_at.timestamp()
        begin = min(end, at) if event.started_at is None else event.started_at.timestamp()
        deploy = Deploy(
            event.application,
            event.namespace,
            event.revision,
            event.metadata.event_id,
            begin,
            end,
        )
        self.recent.observe(deploy)
        for app in self.recent.dirty:
            entries = [d.dump() for d in self.recent.by_app.get(app, [])]
            self.store.put(PREFIX + app, orjson.dumps(entries))
        for app in self.recent.evicted:
            self.store.put(PREFIX + app, None)
        self.recent.dirty.clear()
        self.recent.evicted.clear()

    def suspect(self, labels: dict[str, str], started: float, unusual: float) -> Suspect | None:
        """The deploy a metric shift of a series with these labels, starting then, points at."""
        found = (labels.get(name) for name in self.params.application_labels)
        apps = tuple(dict.fromkeys(v for v in found if v))
        return self.recent.suspect(signature_of(labels), apps, started, unusual)

    def opened(self, row: int, shift: OpenShift, started: float) -> Suspect | None:
        """An episode opens: its suspect, or None (then a deploy handled later may explain it)."""
        found = self.suspect(shift.labels, started, shift.score)
        if found is None:
            self.unexplained[row] = shift
        else:
            self.unexplained.pop(row, None)
        return found

    def blame(self, item: Received, starts: list[float], lasts: list[float]) -> list[Outgoing]:
        """A deploy just observed: the open, unexplained episodes it explains, each turned into
        a deploy_regression naming it. Episodes too old for any deploy are forgotten."""
        event = item.event
        assert isinstance(event, DeploymentObserved)
        horizon = event.metadata.occurred_at.timestamp() - self.params.window_seconds
        out = []
        for row, shift in list(self.unexplained.items()):
            if lasts[row] < horizon:  # ended long before any deploy that arrives now
                del self.unexplained[row]
                continue
            found = self.suspect(shift.labels, starts[row], shift.score)
            if found is None or found.deployment_event_id != event.metadata.event_id:
                continue
            del self.unexplained[row]
            anomaly = late_regression(shift, starts[row], found, event)
            out.append(Outgoing(ANOMALIES_TOPIC, anomaly_key(shift), anomaly, cause=item))
        return out


def late_regression(
    shift: OpenShift, started: float, suspect: Suspect, deploy: DeploymentObserved
) -> AnomalyDetected:
    """The deploy_regression of an episode whose deploy was reported after it began."""
    when = datetime.fromtimestamp(started, UTC)
    anomaly_id = deterministic_id("metric-anomaly", shift.key, repr(started), "deploy")
    service = shift.signature["service"] or shift.key
    return AnomalyDetected(
        metadata=new_metadata(
            SERVICE,
            occurred_at=deploy.metadata.occurred_at,
            event_id=deterministic_id("anomaly-detected", anomaly_id, "started"),
            caused_by=deploy.metadata,
        ),
        anomaly_id=anomaly_id,
        kind="deploy_regression",
        phase="started",
        score=suspect.score,
        signature=Signature(**shift.signature),
        window_start=when,
        window_end=when,
        summary=f"{shift.metric} of {service} shifted" + suspect_summary(suspect),
        evidence={
            "series": shift.key,
            "metric": shift.metric,
            "shift_score": f"{shift.score:.2f}",
            "deploy_reported": "after the shift had started (it was a metric_anomaly)",
            **suspect_evidence(suspect),
        },
        member_fingerprints=[],
        suspect=suspect_record(suspect),
    )


def anomaly_key(shift: OpenShift) -> str:
    """Kafka key of the anomaly: service, namespace, metric name (as the handler's)."""
    return "|".join((shift.signature["service"], shift.signature["namespace"], shift.metric))


def suspect_summary(suspect: Suspect) -> str:
    """', N min after APP was deployed (revision R)', for summaries."""
    before = max(0.0, suspect.seconds_before)
    revision = suspect.revision[:12] or "unknown"
    return f", {before / 60:.0f} min after {suspect.application} was deployed (revision {revision})"


def suspect_evidence(suspect: Suspect) -> dict[str, str]:
    """The suspect deploy as evidence a person can read."""
    return {
        "suspect_application": suspect.application,
        "suspect_revision": suspect.revision,
        "suspect_topology": suspect.topology,
        "deployed_before_shift_s": f"{max(0.0, suspect.seconds_before):.0f}",
        "suspect_score": f"{suspect.score:.2f}",
    }
