"""Contract events in, contract events out: route, record the intent, send, record the outcome."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime

from cc.events import NotificationSent, deterministic_id, new_metadata
from cc.kafka import Outgoing, Received, RetryableError
from notifier.delivery_ports import DeliveryLog
from notifier.domain.routing import Destination, Facts, Routing
from notifier.notices import Notice, notice_for
from notifier.ports import ChatSender, Delivery

SERVICE = "notifier"
SENT = "notifications.notification-sent.v1"
SENDING = "sending"
"""Status of the intent record produced (and acknowledged) before a send is attempted."""
REMEMBERED_INCIDENTS = 50_000

log = logging.getLogger(__name__)


class Notifier:
    """Tells people once per dedup key, even across a crash between sending and committing."""

    def __init__(
        self,
        senders: Mapping[str, ChatSender],
        routing: Routing,
        *,
        delivery_log: DeliveryLog,
        known: dict[str, str],
        clock: Callable[[], datetime],
        on_skip: Callable[[str], None] = lambda status: None,
    ) -> None:
        self.senders = senders
        self.routing = routing
        self.delivery_log = delivery_log
        self.known = known
        """Dedup key -> last status, rebuilt from the delivery log at start-up."""
        self.clock = clock
        self.on_skip = on_skip
        self._incidents: OrderedDict[str, Facts] = OrderedDict()
        self._unconfirmed: dict[str, Outgoing] = {}

    def on_event(self, item: Received) -> list[Outgoing]:
        """Notify every destination the rules pick for this event, once per dedup key."""
        notice = notice_for(item.event, self._incidents)
        if notice is None:
            return []
        while len(self._incidents) > REMEMBERED_INCIDENTS:
            self._incidents.popitem(last=False)
        decision = self.routing.route(notice.facts, self.clock())
        out: list[Outgoing] = []
        try:
            for name, reason in decision.dropped:
                out.extend(self._suppress(item, notice, self.routing.destinations[name], reason))
            for name in decision.send:
                out.extend(self._deliver(item, notice, self.routing.destinations[name]))
        except RetryableError:
            # the batch is retried: outcomes already reached must still be produced then
            self._unconfirmed.update((o.key, o) for o in out)
            raise
        return out

    def _deliver(self, item: Received, notice: Notice, destination: Destination) -> list[Outgoing]:
        key = f"{destination.type}:{destination.name}:{notice.subject}"
        if (carried := self._unconfirmed.pop(key, None)) is not None:
            return [carried]
        if (status := self.known.get(key)) is not None:
            if status == SENDING:
                # sent or not, we cannot tell: resending could page twice, so we do not
                log.warning("possibly delivered before a crash: not resent", extra={"key": key})
            self.on_skip(status)
            return []
        self.delivery_log.record(self._record(item, notice, destination, key, SENDING, None))
        self.known[key] = SENDING
        try:
            delivery = self.senders[destination.name].send(notice.payload)
        except RetryableError:
            # this process saw every attempt fail, so retrying the batch may send it
            del self.known[key]
            raise
        status = "delivered" if delivery.delivered else "failed"
        self.known[key] = status
        outcome = self._record(item, notice, destination, key, status, delivery)
        return [Outgoing(SENT, key, outcome, cause=item)]

    def _suppress(
        self, item: Received, notice: Notice, destination: Destination, reason: str
    ) -> list[Outgoing]:
        key = f"{destination.type}:{destination.name}:{notice.subject}"
        if key in self.known:
            return []
        self.known[key] = "suppressed"
        record = self._record(
            item, notice, destination, key, "suppressed", Delivery(False, 0, reason)
        )
        return [Outgoing(SENT, key, record, cause=item)]

    def _record(
        self,
        item: Received,
        notice: Notice,
        destination: Destination,
        key: str,
        status: str,
        delivery: Delivery | None,
    ) -> NotificationSent:
        """The NotificationSent for a dedup key: the intent (`sending`) or the outcome."""
        kind = "notification-sending" if status == SENDING else "notification-sent"
        return NotificationSent(
            metadata=new_metadata(
                SERVICE,
                occurred_at=self.clock(),
                event_id=deterministic_id(kind, key),
                caused_by=item.event.metadata,
            ),
            notification_id=deterministic_id("notification", key),
            channel=destination.type,
            destination=destination.name,
            dedup_key=key,
            subject_event_id=item.event.metadata.event_id,
            incident_id=notice.incident_id,
            status=status,
            attempts=0 if delivery is None else delivery.attempts,
            response="" if delivery is None else delivery.response,
        )
