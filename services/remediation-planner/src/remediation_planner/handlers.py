"""Contract events in, contract events out."""

from __future__ import annotations

from cc.events import (
    AnomalyDetected,
    EventMetadata,
    IncidentOpened,
    IncidentUpdated,
    RemediationPlanned,
    deterministic_id,
    new_metadata,
)
from cc.kafka import Outgoing, Received
from remediation_planner.domain.incidents import IncidentBook

SERVICE = "remediation-planner"
OPENED = "incidents.incident-opened.v1"
UPDATED = "incidents.incident-updated.v1"
PLANNED = "remediation.remediation-planned.v1"


class Planner:
    """Groups anomalies into incidents and proposes a first plan for each new incident."""

    def __init__(self, book: IncidentBook) -> None:
        self.book = book

    def on_anomaly_detected(self, item: Received) -> list[Outgoing]:
        """Open or update the incident of the anomaly's signature; plan for a new one."""
        anomaly = item.event
        if not isinstance(anomaly, AnomalyDetected) or anomaly.phase != "started":
            return []
        sig = anomaly.signature
        key = "|".join((sig.cluster, sig.namespace, sig.service, sig.alertname))
        grouped = self.book.add_anomaly(
            new_incident_id=deterministic_id("incident", anomaly.anomaly_id),
            signature_key=key,
            anomaly_id=anomaly.anomaly_id,
            score=anomaly.score,
            fingerprints=anomaly.member_fingerprints,
        )
        incident = grouped.incident
        if not grouped.changed:
            return []

        def meta(kind: str) -> EventMetadata:
            return new_metadata(
                SERVICE,
                occurred_at=anomaly.metadata.occurred_at,
                event_id=deterministic_id(kind, incident.incident_id, anomaly.anomaly_id),
                caused_by=anomaly.metadata,
                incident_id=incident.incident_id,
            )

        if not grouped.opened:
            updated = IncidentUpdated(
                metadata=meta("incident-updated"),
                incident_id=incident.incident_id,
                severity=incident.severity,
                anomaly_ids=list(incident.anomaly_ids),
                member_fingerprints=list(incident.fingerprints),
                change=f"anomaly {anomaly.anomaly_id} joined",
            )
            return [Outgoing(UPDATED, incident.incident_id, updated, cause=item)]
        opened = IncidentOpened(
            metadata=meta("incident-opened"),
            incident_id=incident.incident_id,
            title=anomaly.summary,
            severity=incident.severity,
            signature=sig,
            anomaly_ids=list(incident.anomaly_ids),
            member_fingerprints=list(incident.fingerprints),
            suspect=anomaly.suspect,
        )
        plan = RemediationPlanned(
            metadata=meta("remediation-planned"),
            plan_id=deterministic_id("plan", incident.incident_id, "silence"),
            incident_id=incident.incident_id,
            action="silence",
            target={"alertname": sig.alertname, "namespace": sig.namespace, "service": sig.service},
            parameters={"duration": "1h"},
            gate="needs_approval",
            gate_rule="skeleton-default: every action needs approval until policies exist",
            proposer=SERVICE,
            rationale="Silence the alert while a person looks; no runbook matched yet.",
        )
        return [
            Outgoing(OPENED, incident.incident_id, opened, cause=item),
            Outgoing(PLANNED, incident.incident_id, plan, cause=item),
        ]
