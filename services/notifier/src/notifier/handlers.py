"""Contract events in, contract events out."""

from __future__ import annotations

from cc.events import (
    IncidentOpened,
    NotificationSent,
    deterministic_id,
    new_metadata,
    utcnow,
)
from cc.kafka import Outgoing, Received
from notifier.domain.messages import incident_opened_message
from notifier.ports import ChatSender

SERVICE = "notifier"
SENT = "notifications.notification-sent.v1"


class Notifier:
    """Tells people about new incidents, once per incident."""

    def __init__(self, slack: ChatSender, *, destination: str) -> None:
        self.slack = slack
        self.destination = destination
        self._sent: set[str] = set()

    def on_incident_opened(self, item: Received) -> list[Outgoing]:
        """Post the incident to Slack unless this incident was already announced."""
        incident = item.event
        if not isinstance(incident, IncidentOpened):
            return []
        dedup_key = f"slack:{self.destination}:{incident.incident_id}:opened"
        if dedup_key in self._sent:
            return []
        sig = incident.signature
        payload = incident_opened_message(
            incident_id=incident.incident_id,
            title=incident.title,
            severity=incident.severity,
            where={"service": sig.service, "namespace": sig.namespace, "cluster": sig.cluster},
            plan_hint=None,
        )
        delivery = self.slack.send(payload)
        self._sent.add(dedup_key)
        sent = NotificationSent(
            metadata=new_metadata(
                SERVICE,
                occurred_at=utcnow(),
                event_id=deterministic_id("notification-sent", dedup_key),
                caused_by=incident.metadata,
            ),
            notification_id=deterministic_id("notification", dedup_key),
            channel="slack",
            destination=self.destination,
            dedup_key=dedup_key,
            subject_event_id=incident.metadata.event_id,
            incident_id=incident.incident_id,
            status="delivered" if delivery.delivered else "failed",
            attempts=delivery.attempts,
            response=delivery.response,
        )
        return [Outgoing(SENT, dedup_key, sent, cause=item)]
