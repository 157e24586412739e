"""Contract events in, contract events out."""

from __future__ import annotations

from anomaly_detector.domain.firing import assess_firing_alert, signature_of
from cc.events import AlertReceived, AnomalyDetected, Signature, deterministic_id, new_metadata
from cc.kafka import Outgoing, Received

SERVICE = "anomaly-detector"
ANOMALIES_TOPIC = "anomalies.anomaly-detected.v1"


def on_alert_received(item: Received) -> list[Outgoing]:
    """A firing alert becomes an `AnomalyDetected`; resolved alerts are not anomalies."""
    event = item.event
    if not isinstance(event, AlertReceived) or event.status != "firing":
        return []
    finding = assess_firing_alert(event.alertname, event.labels)
    signature = Signature(**signature_of(event.labels))
    anomaly_id = deterministic_id("anomaly", event.fingerprint, event.starts_at.isoformat())
    anomaly = AnomalyDetected(
        metadata=new_metadata(
            SERVICE,
            occurred_at=event.metadata.occurred_at,
            event_id=deterministic_id("anomaly-detected", anomaly_id, "started"),
            caused_by=event.metadata,
        ),
        anomaly_id=anomaly_id,
        kind="alert_firing",
        phase="started",
        score=finding.score,
        signature=signature,
        window_start=event.starts_at,
        window_end=event.metadata.occurred_at,
        summary=finding.summary,
        evidence={"alert_status": event.status, "severity": event.labels.get("severity", "")},
        member_fingerprints=[event.fingerprint],
    )
    key = "|".join((signature.service, signature.namespace, signature.alertname))
    return [Outgoing(ANOMALIES_TOPIC, key, anomaly, cause=item)]
