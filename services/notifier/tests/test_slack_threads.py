"""One Slack thread per incident: a root for the opening, few replies, the same thread after a
restart; and the chat.postMessage sender against the Web API stand-in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cc.events import (
    IncidentResolved,
    IncidentUpdated,
    NotificationSent,
    deterministic_id,
    new_metadata,
)
from cc.testing.events import T0, incident_opened, received
from cc.testing.fake_slack_api import DEFAULT_CHANNEL, DEFAULT_TOKEN, FakeSlackApi
from notifier.adapters.routing_file import RoutingFileError, load_routing
from notifier.adapters.slack_chat import SlackChatSender
from notifier.composers import SlackThreadComposer
from notifier.delivery_log import KafkaSentKeys
from notifier.domain.routing import Criteria, Destination, Routing, Rule
from notifier.domain.slack_threads import delivered_response, member_milestone, ts_of
from notifier.handlers import Notifier
from notifier.ports import Delivery

CHANNEL = "C0INCIDENTS"
ROOT_KEY = "slack_bot:bot:inc-1:opened"
KINDS = frozenset({"incident_opened", "incident_updated", "incident_resolved"})


class RecordingChatSender:
    """Answers like chat.postMessage: a fresh ts per message."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any]) -> Delivery:
        self.sent.append(payload)
        return Delivery(True, 1, delivered_response(f"1716.{len(self.sent):06d}", CHANNEL))


class NoLog:
    def record(self, event: NotificationSent) -> None:
        pass


def make_notifier(
    sender: RecordingChatSender,
    *,
    known: dict[str, str] | None = None,
    threads: dict[str, str] | None = None,
) -> Notifier:
    bot = Destination("bot", "slack_bot", "X", channel=CHANNEL)
    routing = Routing({"bot": bot}, (Rule("all", Criteria(kinds=KINDS), ("bot",)),))
    return Notifier(
        {"bot": sender},
        routing,
        delivery_log=NoLog(),
        known={} if known is None else known,
        clock=lambda: T0,
        composers={"bot": SlackThreadComposer(CHANNEL)},
        threads=threads,
    )


def updated(n: int, *, members: int, severity: str = "critical") -> IncidentUpdated:
    return IncidentUpdated(
        metadata=new_metadata(
            "remediation-planner", occurred_at=T0, event_id=deterministic_id("iu", str(n))
        ),
        incident_id="inc-1",
        severity=severity,
        anomaly_ids=["a1"],
        member_fingerprints=[f"fp{i}" for i in range(members)],
        change=f"alert {n} joined",
    )


def resolved() -> IncidentResolved:
    return IncidentResolved(
        metadata=new_metadata("remediation-planner", occurred_at=T0),
        incident_id="inc-1",
        opened_at=T0,
        resolution="every member alert resolved",
    )


@pytest.mark.parametrize(
    ("members", "milestone"),
    [(1, None), (2, 2), (9, 2), (10, 10), (99, 50), (100, 100), (250, 200), (1001, 1000)],
)
def test_member_counts_fall_into_milestone_buckets(members: int, milestone: int | None) -> None:
    assert member_milestone(members) == milestone


def test_a_response_records_the_ts_it_was_posted_at() -> None:
    assert ts_of(delivered_response("1716.000001", CHANNEL)) == "1716.000001"
    assert ts_of("HTTP 200 ok") is None


def test_an_opening_is_one_root_with_todays_block_kit_message() -> None:
    sender = RecordingChatSender()
    handler = make_notifier(sender)
    [out] = handler.on_event(received(incident_opened()))
    [root] = sender.sent
    assert root["channel"] == CHANNEL and "thread_ts" not in root
    assert root["blocks"][0]["type"] == "header"
    assert out.key == ROOT_KEY and out.event.response.startswith("ts=")
    assert handler.threads == {ROOT_KEY: "1716.000001"}


def test_a_storm_of_updates_replies_in_the_thread_only_at_milestones_and_rises() -> None:
    sender = RecordingChatSender()
    handler = make_notifier(sender)
    handler.on_event(received(incident_opened()))
    handler.on_event(received(updated(0, members=2, severity="high")))
    for n in range(1, 1000):
        handler.on_event(received(updated(n, members=n + 2, severity="high")))
    handler.on_event(received(updated(1000, members=1002)))  # high -> critical
    handler.on_event(received(resolved()))
    _root, *replies = sender.sent
    assert {r.get("thread_ts") for r in replies} == {"1716.000001"}
    texts = [r["text"] for r in replies]
    assert [t.split(" ")[0] for t in texts[:5]] == ["2", "10", "50", "100", "200"]
    assert len(replies) == 3 + 10 + 1  # 2, 10, 50; 100 to 1,000; the resolution
    # high is below the opening's critical and critical never rose above it: no severity reply
    assert "Severity now" not in " ".join(texts)
    assert texts[-1].startswith(":white_check_mark: Resolved")


def test_an_update_that_raises_the_severity_is_a_reply() -> None:
    sender = RecordingChatSender()
    handler = make_notifier(sender)
    handler.on_event(received(dataclasses.replace(incident_opened(), severity="warning")))
    handler.on_event(received(updated(1, members=1, severity="critical")))
    [_, reply] = sender.sent
    assert reply["thread_ts"] == "1716.000001" and "Severity now *critical*" in reply["text"]


def test_after_a_restart_replies_still_go_to_the_roots_thread() -> None:
    sender = RecordingChatSender()
    handler = make_notifier(
        sender, known={ROOT_KEY: "delivered"}, threads={ROOT_KEY: "1700.000042"}
    )
    handler.on_event(received(incident_opened()))  # replayed: already in the log
    handler.on_event(received(resolved()))
    [reply] = sender.sent
    assert reply["thread_ts"] == "1700.000042"


def test_an_update_of_an_unannounced_incident_opens_the_thread_itself() -> None:
    sender = RecordingChatSender()
    handler = make_notifier(sender)
    handler.on_event(received(updated(1, members=10)))
    handler.on_event(received(resolved()))
    first, second = sender.sent
    assert "thread_ts" not in first
    assert second["thread_ts"] == "1716.000001"


def test_the_delivery_log_keeps_the_ts_of_delivered_roots_only() -> None:
    keys = KafkaSentKeys("unused:9092", serde=None, topic="t", timeout_s=1)  # type: ignore[arg-type]
    for key, status, response in [
        (ROOT_KEY, "sending", ""),
        (ROOT_KEY, "delivered", delivered_response("1716.000001", CHANNEL)),
        ("slack_bot:bot:inc-1:resolved", "delivered", delivered_response("1716.2", CHANNEL)),
        ("slack:hook:inc-2:opened", "delivered", "HTTP 200 ok"),
    ]:
        record = NotificationSent(
            metadata=new_metadata("notifier", occurred_at=T0),
            notification_id="n",
            channel="slack_bot",
            destination="bot",
            dedup_key=key,
            subject_event_id="e",
            status=status,
            attempts=1,
            response=response,
        )
        keys._keep_thread(record)
    assert keys.threads == {ROOT_KEY: "1716.000001"}


def test_a_slack_bot_destination_needs_a_channel(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("destinations:\n  bot: {type: slack_bot, settings: T, channel: C1}\n")
    assert load_routing(path).destinations["bot"].channel == "C1"
    path.write_text("destinations:\n  bot: {type: slack_bot, settings: T}\n")
    with pytest.raises(RoutingFileError, match="needs a channel"):
        load_routing(path)


@pytest.fixture
def api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(burst=2) as server:
        yield server


def sender_for(api: FakeSlackApi, token: str = DEFAULT_TOKEN) -> SlackChatSender:
    return SlackChatSender(token, api_url=api.api_url, max_attempts=3, timeout=5, backoff_s=0.01)


def test_the_sender_returns_the_messages_ts(api: FakeSlackApi) -> None:
    delivery = sender_for(api).send({"channel": DEFAULT_CHANNEL, "text": "hi"})
    assert delivery.delivered and ts_of(delivery.response) == api.messages()[0]["ts"]


def test_ok_false_is_permanent_and_the_token_is_not_in_the_response(api: FakeSlackApi) -> None:
    delivery = sender_for(api, "xoxb-secret").send({"channel": DEFAULT_CHANNEL, "text": "hi"})
    assert (delivery.delivered, delivery.attempts) == (False, 1)
    assert "invalid_auth" in delivery.response and "xoxb-secret" not in delivery.response


def test_ratelimited_waits_for_retry_after_then_delivers(api: FakeSlackApi) -> None:
    api.fail_next(429, "ratelimited")
    delivery = sender_for(api).send({"channel": DEFAULT_CHANNEL, "text": "hi"})
    assert (delivery.delivered, delivery.attempts) == (True, 2)


def test_server_errors_past_the_attempts_are_a_failed_delivery(api: FakeSlackApi) -> None:
    api.fail_next(503, "service_unavailable", count=3)
    delivery = sender_for(api).send({"channel": DEFAULT_CHANNEL, "text": "hi"})
    assert not delivery.delivered and "service_unavailable" in delivery.response
