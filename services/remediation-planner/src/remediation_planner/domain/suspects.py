"""Suspect changes: the latest successful deploy of the same application or namespace shortly
before an incident began.

The anomaly detector names suspects when it can; this is the planner's own fallback for the
anomalies that arrive without one (and for deploys that arrive after the anomaly, on another
topic). Score: time proximity (1 right after the deploy, 0 at the end of the window) times the
topology match (1 for the application named like the service, 0.7 for the namespace only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from remediation_planner.domain.incidents import Suspect

SUCCEEDED_TRIGGERS = frozenset({"on-deployed", "on-sync-succeeded"})
CLOCK_SKEW = timedelta(seconds=30)  # a deploy stamped a little after the first alert still fits
NAMESPACE_ONLY = 0.7


@dataclass(frozen=True)
class Deploy:
    """A successful deploy the planner remembers (latest per application)."""

    application: str
    namespace: str
    cluster: str
    revision: str
    event_id: str
    at: datetime


def is_successful_deploy(trigger: str, phase: str | None) -> bool:
    """A deploy that changed what runs: a catalog success trigger, or a Succeeded operation."""
    return trigger in SUCCEEDED_TRIGGERS or phase == "Succeeded"


def suspect_for(
    deploys: list[Deploy],
    *,
    service: str,
    namespace: str,
    began: datetime,
    window: timedelta,
) -> Suspect | None:
    """The best-scoring deploy within `window` before `began` at the same place, if any."""
    best: Suspect | None = None
    for deploy in deploys:
        if deploy.application == service and service:
            match = 1.0
        elif deploy.namespace == namespace and namespace:
            match = NAMESPACE_ONLY
        else:
            continue
        before = began - deploy.at
        if before < -CLOCK_SKEW or before > window:
            continue
        proximity = 1.0 - max(before, timedelta(0)) / window
        score = round(match * max(proximity, 0.05), 3)
        if best is None or score > best.score:
            best = Suspect(
                application=deploy.application,
                revision=deploy.revision,
                deployment_event_id=deploy.event_id,
                seconds_before=max(before.total_seconds(), 0.0),
                score=score,
            )
    return best
