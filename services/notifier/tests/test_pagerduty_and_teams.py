"""Incidents reach PagerDuty and Teams within their contracts, riding out 429s and outages."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cc.testing.fake_pagerduty import DEFAULT_ROUTING_KEY, FakePagerDuty
from cc.testing.fake_teams import FakeTeams
from notifier.adapters.pagerduty import PagerDutyEventsSender
from notifier.adapters.teams import TeamsWebhookSender
from notifier.domain.pagerduty_events import SUMMARY_MAX, resolve_event, trigger_event
from notifier.domain.teams_cards import CARD_BUDGET_BYTES, encode_message, incident_card

KEY = DEFAULT_ROUTING_KEY


class RecordingStop(threading.Event):
    """A stop event whose waits return at once and are recorded, so backoff never sleeps."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return False


def _trigger(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"incident_id": "inc-1", "summary": "Disk full on api"}
    fields |= {"source": "api", "severity": "critical"}
    return trigger_event(KEY, **fields | overrides)


@pytest.fixture
def pd() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as server:
        yield server


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as server:
        yield server


def _pd_sender(
    pd: FakePagerDuty, stop: threading.Event, attempts: int = 5
) -> PagerDutyEventsSender:
    return PagerDutyEventsSender(pd.base_url, max_attempts=attempts, timeout=5, stop=stop)


def test_a_trigger_is_delivered_and_opens_one_incident(pd: FakePagerDuty) -> None:
    delivery = _pd_sender(pd, RecordingStop()).send(_trigger())
    assert delivery.delivered and delivery.attempts == 1 and "202" in delivery.response
    [incident] = pd.incidents()
    assert (incident["dedup_key"], incident["severity"]) == ("inc-1", "critical")


def test_sending_the_same_trigger_twice_opens_one_incident_and_resolve_closes_it(
    pd: FakePagerDuty,
) -> None:
    sender = _pd_sender(pd, RecordingStop())
    assert sender.send(_trigger()).delivered and sender.send(_trigger()).delivered
    [incident] = pd.incidents()
    assert incident["triggers"] == 2
    assert sender.send(resolve_event(KEY, "inc-1")).delivered
    assert pd.incidents()[0]["status"] == "resolved"


def test_a_burst_of_429s_is_backed_off_without_loss(pd: FakePagerDuty) -> None:
    pd.fail_next(429, count=3)
    stop = RecordingStop()
    sender = PagerDutyEventsSender(
        pd.base_url, max_attempts=5, timeout=5, rate_limited_backoff_s=30, stop=stop
    )
    delivery = sender.send(_trigger())
    assert delivery.delivered and delivery.attempts == 4
    assert len(pd.incidents()) == 1
    # No Retry-After from PagerDuty: our own exponential schedule, jittered within [d/2, d].
    first, second, third = stop.waits
    assert 15 <= first <= 30 and 30 <= second <= 60 and 60 <= third <= 120


def test_retry_after_is_honoured_when_present(teams: FakeTeams) -> None:
    teams.fail_next(429, retry_after=7)
    stop = RecordingStop()
    sender = TeamsWebhookSender(teams.webhook_url, max_attempts=3, timeout=5, stop=stop)
    assert sender.send(_card()).delivered
    assert stop.waits == [7.0]


def test_a_bad_event_is_not_retried(pd: FakePagerDuty) -> None:
    bad = _trigger() | {"event_action": "open"}
    delivery = _pd_sender(pd, RecordingStop()).send(bad)
    assert not delivery.delivered and delivery.attempts == 1
    assert "invalid event" in delivery.response and KEY not in delivery.response


def test_a_server_outage_is_ridden_out(pd: FakePagerDuty) -> None:
    pd.fail_next(503, count=2)
    delivery = _pd_sender(pd, RecordingStop()).send(_trigger())
    assert delivery.delivered and delivery.attempts == 3


def test_still_failing_after_the_attempts_is_a_failed_delivery(pd: FakePagerDuty) -> None:
    pd.fail_next(500, count=3)
    delivery = _pd_sender(pd, RecordingStop(), attempts=3).send(_trigger())
    assert (delivery.delivered, delivery.attempts) == (False, 3)
    assert "after 3 attempts" in delivery.response and "HTTP 500" in delivery.response


def test_network_errors_fail_without_the_routing_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = PagerDutyEventsSender(
        "http://127.0.0.1:9", max_attempts=2, timeout=1, stop=RecordingStop()
    )
    delivery = sender.send(_trigger())
    assert not delivery.delivered and delivery.attempts == 2
    assert KEY not in delivery.response and KEY not in caplog.text


def test_trigger_builder_clips_maps_and_links() -> None:
    event = _trigger(
        summary="s" * 5000,
        severity="high",
        suspect_deploy={"app": "api", "revision": "abc"},
        plan="rollback api",
        approval_url="https://cc/approve/inc-1",
        trace_url=None,
    )
    assert len(event["payload"]["summary"]) == SUMMARY_MAX
    assert event["payload"]["severity"] == "error"
    assert event["dedup_key"] == "inc-1"
    assert event["payload"]["custom_details"]["plan"] == "rollback api"
    assert event["links"] == [
        {"href": "https://cc/approve/inc-1", "text": "Approve or reject the plan"}
    ]
    mapped = [_trigger(severity=s)["payload"]["severity"] for s in ("critical", "warning", "info")]
    assert mapped == ["critical", "warning", "info"]


def _card(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"incident_id": "inc-1", "title": "Disk full", "severity": "critical"}
    fields |= {"where": {"service": "api"}, "plan": "rollback", "gate": "needs approval"}
    return incident_card(**fields | overrides)


def test_teams_card_is_delivered(teams: FakeTeams) -> None:
    delivery = TeamsWebhookSender(teams.webhook_url, max_attempts=3, timeout=5).send(_card())
    assert delivery.delivered
    card = teams.received()[0]["json"]["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Scope"] == "service=api" and facts["Gate"] == "needs approval"


def test_teams_card_stays_under_the_limit_with_huge_inputs(teams: FakeTeams) -> None:
    huge = "é" * 50_000
    card = _card(
        title=huge,
        where={f"k{i}": huge for i in range(20)},
        since=huge,
        suspect_deploy=huge,
        plan=huge,
        gate=huge,
        links={f"link {i}": "https://x/" + "a" * 1900 for i in range(20)},
    )
    assert len(encode_message(card)) <= CARD_BUDGET_BYTES
    assert TeamsWebhookSender(teams.webhook_url, max_attempts=1, timeout=5).send(card).delivered


def test_teams_connector_wrapped_errors_are_understood() -> None:
    with FakeTeams(flavour="connector") as teams:
        sender = TeamsWebhookSender(
            teams.webhook_url, max_attempts=3, timeout=5, stop=RecordingStop()
        )
        assert sender.send(_card()).delivered
        teams.fail_next(413)
        delivery = sender.send(_card())
        assert not delivery.delivered and delivery.attempts == 1
        teams.fail_next(503, count=3)
        delivery = sender.send(_card())
        assert (delivery.delivered, delivery.attempts) == (False, 3)


def test_teams_throttling_is_ridden_out_without_loss() -> None:
    with FakeTeams(requests_per_s=1, retry_after_s=0) as teams:
        teams.fail_next(429, count=2)
        stop = RecordingStop()
        sender = TeamsWebhookSender(teams.webhook_url, max_attempts=4, timeout=5, stop=stop)
        assert sender.send(_card()).attempts == 3
        assert len(teams.received()) == 1 and len(stop.waits) == 2
        assert json.loads(encode_message(_card())) == teams.received()[0]["json"]
