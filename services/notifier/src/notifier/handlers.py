"""Contract events in, contract events out: route, record the intent, send, record the outcome."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime

from cc.events import NotificationSent, deterministic_id, new_metadata
from cc.kafka import Outgoing, Received, RetryableError
from notifier.composers import Composer, Message, SlackComposer
from notifier.delivery_ports import DeliveryLog
from notifier.domain.routing import Destination, Facts, Routing
from notifier.domain.slack_threads import ts_of
from notifier.notices import SEVERITY_RANK, Notice, notice_for
from notifier.ports import ChatSender, Delivery

SERVICE = "notifier"
SENT = "notifications.notification-sent.v1"
SENDING = "sending"
"""Status of the intent record produced (and acknowledged) before a send is attempted."""
REMEMBERED_INCIDENTS = 50_000

log = logging.getLogger(__name__)


class NotDeliveredError(Exception):
    """A destination refused the message or stayed down through every attempt.

    Set as the message's `Received.error`: the loop dead-letters it with this text (the
    destination and its last response) in the headers, commits, and moves on.
    """


class Notifier:
    """Tells people once per dedup key, even across a crash between sending and committing.

    It serves the destinations it has senders for: the rules may pick others, which are other
    notifiers' business (one per destination, each on its own consumer loop).
    """

    def __init__(
        self,
        senders: Mapping[str, ChatSender],
        routing: Routing,
        *,
        delivery_log: DeliveryLog,
        known: dict[str, str],
        clock: Callable[[], datetime],
        on_skip: Callable[[str], None] = lambda status: None,
        composers: Mapping[str, Composer] | None = None,
        threads: dict[str, str] | None = None,
    ) -> None:
        self.senders = senders
        self.routing = routing
        slack = SlackComposer()
        self.composers = {name: (composers or {}).get(name, slack) for name in senders}
        """Destination name -> what its type is sent (Slack's payload unless told otherwise)."""
        self.delivery_log = delivery_log
        self.known = known
        """Dedup key -> last status, rebuilt from the delivery log at start-up."""
        self.threads = {} if threads is None else threads
        """Dedup key of a delivered root message -> its Slack ts (from the delivery log at start-up,
        then from each root this process posts): replies go in that thread."""
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
        send = tuple(name for name in decision.send if name in self.senders)
        paged = self._paged_elsewhere(notice, send)
        out: list[Outgoing] = []
        failures: list[str] = []
        try:
            for name, reason in decision.dropped:
                if name in paged or name not in self.senders:
                    continue  # quiet hours do not keep an alert we opened from being resolved
                out.extend(self._suppress(item, notice, self.routing.destinations[name], reason))
            for name in send + paged:
                outcome = self._deliver(item, notice, self.routing.destinations[name])
                out.extend(outcome)
                failures.extend(
                    f"{name}: {o.event.response}"
                    for o in outcome
                    if isinstance(o.event, NotificationSent) and o.event.status == "failed"
                )
        except RetryableError:
            # the batch is retried: outcomes already reached must still be produced then
            self._unconfirmed.update((o.key, o) for o in out)
            raise
        if failures:
            item.error = NotDeliveredError("; ".join(failures))
        return out

    def _paged_elsewhere(self, notice: Notice, chosen: tuple[str, ...]) -> tuple[str, ...]:
        """PagerDuty destinations the rules skip for this resolution but that hold its alert.

        An alert this notifier opened is always resolved, even when the rules no longer pick
        the destination (the incident was routed with other facts, or after a restart) or its
        quiet hours hold.
        """
        if notice.facts.kind != "incident_resolved" or notice.incident_id is None:
            return ()
        incident = notice.incident_id
        subjects = [f"{incident}:opened"] + [f"{incident}:escalated:{s}" for s in SEVERITY_RANK]
        return tuple(
            name
            for name, d in self.routing.destinations.items()
            if d.type == "pagerduty"
            and name in self.senders
            and name not in chosen
            and any(f"pagerduty:{name}:{subject}" in self.known for subject in subjects)
        )

    def _deliver(self, item: Received, notice: Notice, destination: Destination) -> list[Outgoing]:
        if (message := self.composers[destination.name].compose(notice)) is None:
            return []  # nothing this destination type needs to hear (a PagerDuty update, a plan)
        key = f"{destination.type}:{destination.name}:{message.subject}"
        if (carried := self._unconfirmed.pop(key, None)) is not None:
            return [carried]
        if (status := self.known.get(key)) is not None:
            if status == SENDING:
                # sent or not, we cannot tell: resending could page twice, so we do not
                log.warning("possibly delivered before a crash: not resent", extra={"key": key})
            self.on_skip(status)
            return []
        payload, root_key = message.payload, None
        if message.thread is not None:
            root_key = f"{destination.type}:{destination.name}:{message.thread}"
            if (root_ts := self.threads.get(root_key)) is not None:
                payload = {**payload, "thread_ts": root_ts}
        # Kafka unable to take the intent raises RetryableError: nothing sent, the batch retried
        self.delivery_log.record(self._record(item, notice, destination, key, SENDING, None))
        self.known[key] = SENDING
        # the sender rides out short outages itself; still failing after its attempts (or a
        # permanent 4xx) is a failed outcome, dead-lettered with the response, never a pause
        try:
            delivery = self.senders[destination.name].send(payload)
        except RetryableError:
            # a sender may still ask for the batch to be retried: it saw every attempt fail, so
            # retrying may send it
            del self.known[key]
            raise
        status = "delivered" if delivery.delivered else "failed"
        self.known[key] = status
        if delivery.delivered and (ts := ts_of(delivery.response)) is not None:
            if root_key is None:
                self.threads[key] = ts
            elif "thread_ts" not in payload:
                # the root was never announced: this message opened the thread, later ones join
                self.threads[root_key] = ts
        outcome = self._record(item, notice, destination, key, status, delivery)
        return [Outgoing(SENT, key, outcome, cause=item)]

    def _suppress(
        self, item: Received, notice: Notice, destination: Destination, reason: str
    ) -> list[Outgoing]:
        message: Message | None = self.composers[destination.name].compose(notice)
        if message is None:
            return []
        key = f"{destination.type}:{destination.name}:{message.subject}"
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
