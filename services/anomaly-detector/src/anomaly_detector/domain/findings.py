"""What the detectors conclude: findings, each one future `AnomalyDetected`."""

from __future__ import annotations

from dataclasses import dataclass, field

from anomaly_detector.domain.signature import Sig

KINDS = ("alert_storm", "flapping", "transient", "rare_signature", "deploy_regression")


@dataclass(frozen=True)
class Suspect:
    """A deploy named as the probable cause of a burst."""

    application: str
    revision: str
    deployment_event_id: str
    seconds_before: float
    score: float
    topology: str
    """How the deploy matches the burst: 'application' or 'namespace'."""


@dataclass(frozen=True)
class Finding:
    """One anomaly phase: kind, score in [0,1], window, readable evidence, members.

    `key` is the anomaly's natural key (stable across replays): the handler derives the
    anomaly id from it, and the event id from the anomaly id and the phase. Times are epoch
    seconds (event time).
    """

    kind: str
    phase: str
    key: str
    score: float
    sig: Sig
    window_start: float
    window_end: float
    at: float
    summary: str
    evidence: dict[str, str]
    members: list[str] = field(default_factory=list)
    suspect: Suspect | None = None


def clamp01(value: float) -> float:
    """`value` limited to [0, 1]."""
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def fmt(value: float) -> str:
    """A number as a person reads it: 3 significant digits, no exponent for everyday sizes."""
    if value == 0:
        return "0"
    if abs(value) >= 1e-3 and abs(value) < 1e6:
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return f"{value:.2e}"


def span(seconds: float) -> str:
    """A duration in the largest unit that keeps it readable ('45s', '12m', '3.5h')."""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
