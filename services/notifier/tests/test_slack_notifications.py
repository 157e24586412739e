"""Incidents reach Slack once, within Block Kit limits, honouring 429 Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from cc.events import NotificationSent
from cc.testing.events import T0, incident_opened, received
from cc.testing.fake_slack import FakeSlack
from notifier.adapters.slack import SlackWebhookSender
from notifier.config import Settings
from notifier.domain.messages import HEADER_TEXT_MAX, incident_opened_message
from notifier.handlers import SENT, Notifier
from notifier.main import default_routing
from notifier.ports import Delivery


class RecordingSender:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any]) -> Delivery:
        self.payloads.append(payload)
        return Delivery(True, 1, "HTTP 200 ok")


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[NotificationSent] = []

    def record(self, event: NotificationSent) -> None:
        self.records.append(event)


def test_a_new_incident_is_announced_once() -> None:
    sender = RecordingSender()
    routing = default_routing(Settings(slack_webhook_url=SecretStr("http://x")))
    notifier = Notifier(
        {"#incidents": sender},
        routing,
        delivery_log=RecordingLog(),
        known={},
        clock=lambda: T0,
    )
    [out] = notifier.on_event(received(incident_opened()))
    assert notifier.on_event(received(incident_opened())) == []
    assert len(sender.payloads) == 1
    assert out.topic == SENT
    assert out.event.status == "delivered"
    assert out.event.dedup_key == "slack:#incidents:inc-1:opened"
    assert "webhook" not in out.event.destination


def test_long_titles_are_clipped_to_block_kit_limits() -> None:
    message = incident_opened_message(
        incident_id="i", title="x" * 500, severity="critical", where={}, plan_hint=None
    )
    assert len(message["blocks"][0]["text"]["text"]) == HEADER_TEXT_MAX


@pytest.fixture
def slack():  # type: ignore[no-untyped-def]
    with FakeSlack(burst=1, rate_per_s=1000.0) as server:
        yield server


def test_sender_delivers_to_a_slack_contract_server(slack: FakeSlack) -> None:
    sender = SlackWebhookSender(slack.webhook_url, max_attempts=3, timeout=5)
    message = incident_opened_message(
        incident_id="i",
        title="Disk full",
        severity="critical",
        where={"service": "api"},
        plan_hint=None,
    )
    delivery = sender.send(message)
    assert delivery.delivered
    assert slack.received()[0]["json"]["text"].startswith(":red_circle:")


def test_sender_retries_a_rate_limited_request(slack: FakeSlack) -> None:
    slack.fail_next(429, "rate_limited")
    sender = SlackWebhookSender(slack.webhook_url, max_attempts=3, timeout=5)
    delivery = sender.send({"text": "hello"})
    assert delivery.delivered and delivery.attempts == 2
    assert len(slack.received()) == 1


def test_sender_gives_up_on_a_permanent_error_without_retrying(slack: FakeSlack) -> None:
    slack.fail_next(404, "channel_not_found")
    delivery = SlackWebhookSender(slack.webhook_url, max_attempts=3, timeout=5).send({"text": "x"})
    assert not delivery.delivered and delivery.attempts == 1
    assert "channel_not_found" in delivery.response


def test_sender_gives_up_when_slack_keeps_failing(slack: FakeSlack) -> None:
    slack.fail_next(500, "rollup_error", count=5)
    sender = SlackWebhookSender(slack.webhook_url, max_attempts=2, timeout=5, backoff_s=0.01)
    delivery = sender.send({"text": "x"})
    assert (delivery.delivered, delivery.attempts) == (False, 2)
    assert "rollup_error" in delivery.response and len(slack.received()) == 0
