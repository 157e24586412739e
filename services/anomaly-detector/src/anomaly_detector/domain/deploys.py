"""Recent deploys, and which of them a burst of alerts points at.

A deploy is a suspect for a burst of a signature when it is of the same application (an alert
label such as `service` or `app` names it) or of the same namespace, and the burst began after
the rollout started and at most `window_seconds` after it finished. Its score weighs time
proximity (halving every `half_life_seconds`), topology (application 1, namespace
`namespace_match`) and how unusual the burst is; below `min_score` nothing is named.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import astuple, dataclass
from typing import Any

from anomaly_detector.domain.findings import Suspect, clamp01
from anomaly_detector.domain.params import DeployParams
from anomaly_detector.domain.signature import Sig


@dataclass(frozen=True, slots=True)
class Deploy:
    """One deploy of an application (the latest `DeploymentObserved` of that revision)."""

    application: str
    namespace: str
    revision: str
    event_id: str
    started: float
    """When the rollout began (the finish time when the start is not known)."""
    finished: float
    """When the rollout finished (the event's time while it runs)."""

    def dump(self) -> list[Any]:
        """JSON-ready state."""
        return list(astuple(self))


class RecentDeploys:
    """The last deploys per application, least recently deployed applications evicted first."""

    def __init__(self, p: DeployParams, capacity: int) -> None:
        self.p = p
        self.capacity = capacity
        self.by_app: OrderedDict[str, list[Deploy]] = OrderedDict()
        self.by_namespace: dict[str, dict[str, None]] = {}
        self.dirty: set[str] = set()
        self.evicted: set[str] = set()

    def relevant(self, trigger: str) -> bool:
        """Whether a notification with this trigger is a deploy."""
        return trigger in self.p.triggers

    def observe(self, deploy: Deploy) -> None:
        """Remember a deploy (a later event of the same revision replaces the earlier one)."""
        app = deploy.application
        oldest = deploy.finished - self.p.window_seconds
        kept = [
            d
            for d in self.by_app.pop(app, [])
            if d.revision != deploy.revision and d.finished >= oldest
        ]
        kept.append(deploy)
        self.by_app[app] = kept[-self.p.per_application :]
        self.by_namespace.setdefault(deploy.namespace, {})[app] = None
        self.dirty.add(app)
        self.evicted.discard(app)
        while len(self.by_app) > self.capacity:
            old, entries = self.by_app.popitem(last=False)
            for entry in entries:
                self.by_namespace.get(entry.namespace, {}).pop(old, None)
            self.dirty.discard(old)
            self.evicted.add(old)

    def restore(self, app: str, data: list[list[Any]]) -> None:
        """Load one application's deploys from state."""
        self.by_app[app] = [Deploy(*d) for d in data]
        for d in self.by_app[app]:
            self.by_namespace.setdefault(d.namespace, {})[app] = None

    def suspect(
        self, sig: Sig, apps: tuple[str, ...], burst_start: float, unusual: float
    ) -> Suspect | None:
        """The best-scoring deploy that fits the burst, if any reaches `min_score`."""
        p = self.p
        candidates: dict[str, float] = {app: 1.0 for app in apps if app in self.by_app}
        for app in self.by_namespace.get(sig.namespace, {}) if sig.namespace else ():
            candidates.setdefault(app, p.namespace_match)
        best: Suspect | None = None
        total = p.weight_time + p.weight_topology + p.weight_unusual
        for app, topology in candidates.items():
            for d in self.by_app.get(app, ()):
                before = burst_start - d.finished
                if burst_start < d.started or before > p.window_seconds:
                    continue
                proximity = 0.5 ** (max(0.0, before) / p.half_life_seconds)
                score = clamp01(
                    (
                        p.weight_time * proximity
                        + p.weight_topology * topology
                        + p.weight_unusual * unusual
                    )
                    / total
                )
                if score >= p.min_score and (best is None or score > best.score):
                    best = Suspect(
                        application=d.application,
                        revision=d.revision,
                        deployment_event_id=d.event_id,
                        seconds_before=before,
                        score=score,
                        topology="application" if topology == 1.0 else "namespace",
                    )
        return best
