"""Grouping anomalies into incidents, in its simplest form: one open incident per signature.

Time windows, suspect-change grouping, resolution and Kafka-backed state come with the planner's
own issue; this keeps the walking skeleton honest (a second anomaly of the same signature updates
the open incident instead of opening another).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Incident:
    """An open incident and what it groups."""

    incident_id: str
    signature_key: str
    severity: str
    anomaly_ids: list[str] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Grouped:
    """The incident an anomaly landed in, and whether it was opened by it."""

    incident: Incident
    opened: bool
    changed: bool


def severity_for(score: float) -> str:
    """Incident severity from an anomaly score."""
    if score >= 0.85:
        return "critical"
    if score >= 0.7:
        return "high"
    if score >= 0.4:
        return "warning"
    return "info"


class IncidentBook:
    """Open incidents by signature key (in memory for the skeleton)."""

    def __init__(self) -> None:
        self._open: dict[str, Incident] = {}

    def add_anomaly(
        self,
        *,
        new_incident_id: str,
        signature_key: str,
        anomaly_id: str,
        score: float,
        fingerprints: list[str],
    ) -> Grouped:
        """Put an anomaly into the open incident of its signature, opening one if none."""
        incident = self._open.get(signature_key)
        if incident is None:
            incident = Incident(new_incident_id, signature_key, severity_for(score))
            incident.anomaly_ids.append(anomaly_id)
            incident.fingerprints.extend(fingerprints)
            self._open[signature_key] = incident
            return Grouped(incident, opened=True, changed=True)
        changed = anomaly_id not in incident.anomaly_ids
        if changed:
            incident.anomaly_ids.append(anomaly_id)
            incident.fingerprints.extend(f for f in fingerprints if f not in incident.fingerprints)
        return Grouped(incident, opened=False, changed=changed)
