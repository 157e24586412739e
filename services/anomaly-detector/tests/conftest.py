"""Synthetic alert streams for the detector tests: times are epoch seconds (event time)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from anomaly_detector.domain.detector import AlertDetectors
from anomaly_detector.domain.findings import Finding
from anomaly_detector.domain.params import DetectorParams

# Friday 2027-01-15 08:00 UTC
T0 = 1_800_000_000.0
LABELS = {"alertname": "HighLatency", "service": "api", "namespace": "shop", "severity": "critical"}


@dataclass
class Stream:
    """Feeds alerts and deploys to one AlertDetectors and keeps every finding."""

    detectors: AlertDetectors
    findings: list[Finding] = field(default_factory=list)

    def fire(self, fingerprint: str, t: float, **labels: str) -> list[Finding]:
        """A new firing of `fingerprint` starting at `t`."""
        out = self.detectors.on_alert(fingerprint, True, {**LABELS, **labels}, t, None)
        self.findings += out
        return out

    def resolve(self, fingerprint: str, started: float, t: float, **labels: str) -> list[Finding]:
        """The firing that began at `started` resolved at `t`."""
        out = self.detectors.on_alert(fingerprint, False, {**LABELS, **labels}, started, t)
        self.findings += out
        return out

    def burst(self, n: int, start: float, every: float = 2.0, **labels: str) -> list[Finding]:
        """`n` distinct alerts of one signature, one every `every` seconds from `start`."""
        prefix = labels.get("alertname", LABELS["alertname"]) + labels.get("service", "")
        out: list[Finding] = []
        for i in range(n):
            out += self.fire(f"{prefix}-{start}-{i}", start + i * every, pod=f"pod-{i}", **labels)
        return out

    def deploy(self, application: str, t: float, namespace: str = "shop", rev: str = "") -> str:
        """An Argo CD on-deployed at `t`; returns its event id."""
        event_id = f"deploy-{application}-{t}"
        self.detectors.on_deploy(
            "on-deployed", application, namespace, rev or f"rev-{t}", event_id, t - 60, t, t
        )
        return event_id

    def tick(self, now: float) -> list[Finding]:
        """The loop's tick at `now`."""
        out = self.detectors.tick(now)
        self.findings += out
        return out

    def of(self, kind: str, phase: str | None = None) -> list[Finding]:
        """Findings of one kind (and phase)."""
        return [f for f in self.findings if f.kind == kind and phase in (None, f.phase)]


@pytest.fixture
def params() -> DetectorParams:
    return DetectorParams()


@pytest.fixture
def stream(params: DetectorParams) -> Stream:
    return Stream(AlertDetectors(params))


@pytest.fixture
def make_stream() -> Callable[..., Stream]:
    """A stream over detectors with some settings changed: make_stream(storm={...}, ...)."""

    def make(**sections: dict[str, Any]) -> Stream:
        params = DetectorParams()
        for name, changes in sections.items():
            params = replace(params, **{name: replace(getattr(params, name), **changes)})
        return Stream(AlertDetectors(params))

    return make
