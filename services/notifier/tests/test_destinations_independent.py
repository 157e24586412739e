"""One notifier per destination: a slow or failing destination holds up no other, and a message
a destination cannot take is recorded as failed and dead-lettered, never a pause."""

from __future__ import annotations

import threading
from typing import Any

from cc.events import NotificationSent
from cc.testing.events import T0, incident_opened, received
from cc.testing.fake_slack import FakeSlack
from notifier.adapters.slack import SlackWebhookSender
from notifier.domain.routing import Criteria, Destination, Routing, Rule
from notifier.handlers import SENDING, NotDeliveredError, Notifier
from notifier.ports import ChatSender, Delivery


class RecordingSender:
    def __init__(self, name: str, journal: list[str], gate: threading.Event | None = None) -> None:
        self.name, self.journal, self.gate = name, journal, gate

    def send(self, payload: dict[str, Any]) -> Delivery:
        if self.gate is not None:
            self.gate.wait(10)  # a destination answering slowly
        self.journal.append(f"send {self.name}")
        return Delivery(True, 1, "HTTP 200 ok")


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[NotificationSent] = []

    def record(self, event: NotificationSent) -> None:
        self.records.append(event)


def routing(*names: str) -> Routing:
    destinations = {n: Destination(n, "slack", "X") for n in names}
    rule = Rule("all", Criteria(kinds=frozenset({"incident_opened"})), names)
    return Routing(destinations, (rule,))


def notifier_of(name: str, sender: ChatSender, rules: Routing, log: RecordingLog) -> Notifier:
    """The notifier one destination's consumer loop runs: the routing is shared, the sender not."""
    return Notifier(
        {name: sender}, rules, delivery_log=log, known={}, clock=lambda: T0, on_skip=lambda _: None
    )


def test_a_slow_destination_does_not_delay_another() -> None:
    rules, journal, gate = routing("fast", "slow"), [], threading.Event()
    fast = notifier_of("fast", RecordingSender("fast", journal), rules, RecordingLog())
    slow = notifier_of("slow", RecordingSender("slow", journal, gate), rules, RecordingLog())
    slow_item, fast_item = received(incident_opened()), received(incident_opened())
    blocked = threading.Thread(target=slow.on_event, args=(slow_item,))
    blocked.start()
    try:
        [out] = fast.on_event(fast_item)  # returns while the other destination still waits
        assert journal == ["send fast"]
        assert out.key == "slack:fast:inc-1:opened" and out.event.status == "delivered"
    finally:
        gate.set()
        blocked.join(5)
    assert journal == ["send fast", "send slow"]
    assert slow_item.error is None and fast_item.error is None


def test_a_notifier_only_serves_its_own_destination() -> None:
    log, journal = RecordingLog(), []
    handler = notifier_of("a", RecordingSender("a", journal), routing("a", "b"), log)
    out = handler.on_event(received(incident_opened()))
    assert [o.key for o in out] == ["slack:a:inc-1:opened"] and journal == ["send a"]
    assert {r.destination for r in log.records} == {"a"}


def test_a_destination_down_through_every_attempt_is_failed_and_dead_lettered() -> None:
    with FakeSlack() as slack:
        slack.fail_next(500, "rollup_error", count=10_000)
        sender = SlackWebhookSender(slack.webhook_url, max_attempts=3, timeout=5, backoff_s=0.01)
        log = RecordingLog()
        handler = notifier_of("down", sender, routing("down"), log)
        item = received(incident_opened())
        [out] = handler.on_event(item)
    assert isinstance(out.event, NotificationSent)
    assert (out.event.status, out.event.attempts) == ("failed", 3)
    assert [r.status for r in log.records] == [SENDING]
    assert isinstance(item.error, NotDeliveredError)
    assert "down: gave up after 3 attempts: HTTP 500 rollup_error" in str(item.error)
    assert handler.known == {"slack:down:inc-1:opened": "failed"}


def test_a_rejected_message_is_failed_and_dead_lettered_after_one_attempt() -> None:
    with FakeSlack() as slack:
        slack.fail_next(400, "invalid_blocks")
        sender = SlackWebhookSender(slack.webhook_url, max_attempts=5, timeout=5, backoff_s=0.01)
        handler = notifier_of("bad", sender, routing("bad"), RecordingLog())
        item = received(incident_opened())
        [out] = handler.on_event(item)
    assert isinstance(out.event, NotificationSent)
    assert (out.event.status, out.event.attempts) == ("failed", 1)
    assert isinstance(item.error, NotDeliveredError) and "invalid_blocks" in str(item.error)


def test_one_failed_destination_does_not_stop_another_of_the_same_notifier() -> None:
    journal: list[str] = []

    class Refused:
        def send(self, payload: dict[str, Any]) -> Delivery:
            return Delivery(False, 1, "HTTP 404 no_service")

    handler = Notifier(
        {"gone": Refused(), "ok": RecordingSender("ok", journal)},
        routing("gone", "ok"),
        delivery_log=RecordingLog(),
        known={},
        clock=lambda: T0,
    )
    item = received(incident_opened())
    out = handler.on_event(item)
    assert [o.event.status for o in out if isinstance(o.event, NotificationSent)] == [
        "failed",
        "delivered",
    ]
    assert journal == ["send ok"] and "gone: HTTP 404 no_service" in str(item.error)
