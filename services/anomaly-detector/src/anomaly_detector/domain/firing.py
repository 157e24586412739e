"""The walking skeleton's rule: every firing alert is an anomaly worth a look.

The real detectors (storms, flapping, rare signatures, deploy regressions, metric anomalies)
replace this rule; it exists so the pipeline runs end to end.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITY_SCORES = {"critical": 0.9, "high": 0.8, "error": 0.8, "warning": 0.5, "info": 0.2}


@dataclass(frozen=True)
class Finding:
    """What the rule concluded about one alert."""

    score: float
    summary: str


def assess_firing_alert(alertname: str, labels: dict[str, str]) -> Finding:
    """Score a firing alert by its severity label and describe it in one sentence."""
    severity = labels.get("severity", "warning").lower()
    score = SEVERITY_SCORES.get(severity, 0.5)
    where = labels.get("service") or labels.get("job") or labels.get("namespace") or "unknown"
    return Finding(score, f"{alertname or 'unnamed alert'} is firing for {where} ({severity})")


def signature_of(labels: dict[str, str]) -> dict[str, str]:
    """Topology of an alert: service, namespace, alert name, cluster, environment."""
    return {
        "service": labels.get("service") or labels.get("app") or labels.get("job", ""),
        "namespace": labels.get("namespace", ""),
        "alertname": labels.get("alertname", ""),
        "cluster": labels.get("cluster", ""),
        "environment": labels.get("env") or labels.get("environment", ""),
    }
