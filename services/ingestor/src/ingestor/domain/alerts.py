"""Alertmanager notification -> one AlertReceived per alert, with deterministic event ids."""

from __future__ import annotations

from datetime import UTC, datetime

from cc.events import AlertGroup, AlertReceived, deterministic_id, new_metadata
from ingestor.contracts import AlertmanagerWebhook, WebhookAlert

SERVICE = "ingestor"
GO_ZERO_TIME_YEAR = 1  # Alertmanager's "0001-01-01T00:00:00Z" means: still firing


def end_time(alert: WebhookAlert) -> datetime | None:
    """The real end time, or None while the alert fires."""
    if alert.ends_at is None or alert.ends_at.year == GO_ZERO_TIME_YEAR:
        return None
    return alert.ends_at.astimezone(UTC)


def alert_event_id(alert: WebhookAlert) -> str:
    """Same alert state -> same id: Alertmanager re-sends groups, retries and runs in pairs."""
    ends = end_time(alert)
    return deterministic_id(
        "alert-received",
        alert.fingerprint,
        alert.status,
        alert.starts_at.astimezone(UTC).isoformat(),
        "" if ends is None else ends.isoformat(),
    )


def alerts_from_webhook(payload: AlertmanagerWebhook) -> list[AlertReceived]:
    """One event per alert; the notification's group fields travel with each."""
    group = AlertGroup(
        receiver=payload.receiver,
        status=payload.status,
        group_key=payload.group_key,
        group_labels=payload.group_labels,
        common_labels=payload.common_labels,
        common_annotations=payload.common_annotations,
        external_url=payload.external_url,
        truncated_alerts=payload.truncated_alerts,
    )
    events = []
    for alert in payload.alerts:
        ends = end_time(alert)
        events.append(
            AlertReceived(
                metadata=new_metadata(
                    SERVICE,
                    # the fact's own time keeps redeliveries identical, whenever they arrive
                    occurred_at=ends if ends is not None else alert.starts_at.astimezone(UTC),
                    event_id=alert_event_id(alert),
                ),
                source="alertmanager",
                fingerprint=alert.fingerprint,
                status=alert.status,
                alertname=alert.labels.get("alertname", ""),
                labels=alert.labels,
                annotations=alert.annotations,
                starts_at=alert.starts_at.astimezone(UTC),
                ends_at=ends,
                generator_url=alert.generator_url,
                group=group,
            )
        )
    return events
