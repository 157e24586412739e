"""Building events and `Received` messages in unit tests, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace

from cc.events import (
    AlertReceived,
    AnomalyDetected,
    Event,
    IncidentOpened,
    NotificationSent,
    Signature,
    deterministic_id,
    new_metadata,
)
from cc.kafka import Received

T0 = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)


def alert(
    alertname: str = "DiskFull",
    *,
    status: str = "firing",
    fingerprint: str = "44ff802e930efd3f",
    labels: dict[str, str] | None = None,
    at: datetime = T0,
) -> AlertReceived:
    """An AlertReceived as the ingestor would produce it."""
    all_labels = {
        "alertname": alertname,
        "service": "api",
        "namespace": "shop",
        "severity": "critical",
    }
    all_labels.update(labels or {})
    return AlertReceived(
        metadata=new_metadata(
            "ingestor", occurred_at=at, event_id=deterministic_id("t", fingerprint, status, str(at))
        ),
        source="alertmanager",
        fingerprint=fingerprint,
        status=status,  # type: ignore[arg-type]
        alertname=alertname,
        labels=all_labels,
        annotations={},
        starts_at=at - timedelta(minutes=1),
        ends_at=at if status == "resolved" else None,
    )


def received(event: Event, *, topic: str = "t.v1", offset: int = 0, **extra: Any) -> Received:
    """Wrap an event as the consumer loop hands it to a handler."""
    return Received(
        event=event,
        topic=topic,
        partition=0,
        offset=offset,
        key=extra.get("key", ""),
        headers=[],
        span=trace.INVALID_SPAN,
    )


def anomaly(
    fingerprint: str = "44ff802e930efd3f", alertname: str = "DiskFull", score: float = 0.9
) -> AnomalyDetected:
    """An AnomalyDetected as the anomaly-detector would produce it for one firing alert."""
    source = alert(alertname, fingerprint=fingerprint)
    anomaly_id = deterministic_id("anomaly", fingerprint, source.starts_at.isoformat())
    return AnomalyDetected(
        metadata=new_metadata(
            "anomaly-detector",
            occurred_at=source.metadata.occurred_at,
            event_id=deterministic_id("anomaly-detected", anomaly_id),
            caused_by=source.metadata,
        ),
        anomaly_id=anomaly_id,
        kind="alert_firing",
        score=score,
        signature=Signature(service="api", namespace="shop", alertname=alertname),
        window_start=source.starts_at,
        window_end=source.metadata.occurred_at,
        summary=f"{alertname} is firing for api",
        evidence={},
        member_fingerprints=[fingerprint],
    )


def incident_opened(
    incident_id: str = "inc-1", title: str = "DiskFull is firing for api"
) -> IncidentOpened:
    """An IncidentOpened as the remediation-planner would produce it."""
    return IncidentOpened(
        metadata=new_metadata(
            "remediation-planner",
            occurred_at=T0,
            event_id=deterministic_id("io", incident_id),
            incident_id=incident_id,
        ),
        incident_id=incident_id,
        title=title,
        severity="critical",
        signature=Signature(
            service="api", namespace="shop", alertname="DiskFull", cluster="prod-1"
        ),
        anomaly_ids=["a1"],
        member_fingerprints=["44ff802e930efd3f"],
    )


def notification_sent(dedup_key: str, *, run_id: str = "") -> NotificationSent:
    """A NotificationSent as the notifier would produce it (destination carries `run_id`)."""
    return NotificationSent(
        metadata=new_metadata(
            "notifier", occurred_at=T0, event_id=deterministic_id("ns", dedup_key)
        ),
        notification_id=deterministic_id("n", dedup_key),
        channel="slack",
        destination=run_id or "#incidents",
        dedup_key=dedup_key,
        subject_event_id=deterministic_id("subject", dedup_key),
        status="delivered",
        attempts=1,
    )
