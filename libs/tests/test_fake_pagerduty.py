"""The fake PagerDuty enforces contracts.md §6 over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cc.testing.fake_pagerduty import DEFAULT_ROUTING_KEY, ENQUEUE_PATH, FakePagerDuty

KEY = DEFAULT_ROUTING_KEY


class _Clock:
    """A hand-advanced clock so rate-limit tests never sleep."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pd() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


def _trigger(dedup_key: str | None = "inc-1", **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": KEY, "event_action": "trigger"}
    event["payload"] = {"summary": "Disk full", "source": "api", "severity": "critical"} | payload
    return event | ({"dedup_key": dedup_key} if dedup_key else {})


def _post(http: httpx.Client, pd: FakePagerDuty, event: Any) -> httpx.Response:
    return http.post(pd.base_url + ENQUEUE_PATH, json=event)


def test_trigger_is_accepted_with_the_documented_body(
    pd: FakePagerDuty, http: httpx.Client
) -> None:
    resp = _post(http, pd, _trigger())
    assert resp.status_code == 202
    assert resp.json() == {"status": "success", "message": "Event processed", "dedup_key": "inc-1"}
    [incident] = pd.incidents()
    assert (incident["dedup_key"], incident["status"], incident["triggers"]) == (
        "inc-1",
        "triggered",
        1,
    )


def test_a_trigger_without_dedup_key_gets_a_generated_one_and_a_new_alert(
    pd: FakePagerDuty, http: httpx.Client
) -> None:
    keys = {_post(http, pd, _trigger(None)).json()["dedup_key"] for _ in range(2)}
    assert len(keys) == 2 and len(pd.incidents()) == 2


def test_dedup_key_lifecycle(pd: FakePagerDuty, http: httpx.Client) -> None:
    _post(http, pd, _trigger())
    _post(http, pd, _trigger())
    ack = {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "inc-1"}
    _post(http, pd, ack)
    [incident] = pd.incidents()
    assert (incident["status"], incident["triggers"]) == ("acknowledged", 2)
    _post(http, pd, ack | {"event_action": "resolve"})
    assert pd.incidents()[0]["status"] == "resolved"
    assert _post(http, pd, ack | {"event_action": "resolve"}).status_code == 202
    _post(http, pd, _trigger())  # after resolve, the same key opens a new alert
    outcomes = [e["outcome"] for e in pd.events()]
    assert outcomes == ["opened", "appended", "acknowledged", "resolved", "dropped", "opened"]
    assert [i["status"] for i in pd.incidents()] == ["resolved", "triggered"]


def test_the_same_dedup_key_under_another_routing_key_is_another_alert(
    pd: FakePagerDuty, http: httpx.Client
) -> None:
    _post(http, pd, _trigger())
    _post(http, pd, _trigger() | {"routing_key": "x" * 32})
    assert len(pd.incidents()) == 2


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (_trigger() | {"routing_key": "short"}, "routing_key"),
        (_trigger() | {"event_action": "open"}, "event_action"),
        ({"routing_key": KEY, "event_action": "resolve"}, "dedup_key"),
        (_trigger("k" * 256), "dedup_key"),
        (_trigger(summary="s" * 1025), "payload.summary"),
        (_trigger(source=""), "payload.source"),
        (_trigger(severity="high"), "payload.severity"),
        (_trigger(timestamp="yesterday"), "payload.timestamp"),
        (_trigger(custom_details="text"), "payload.custom_details"),
        (_trigger() | {"links": [{"text": "no href"}]}, "links[0].href"),
        (_trigger() | {"images": [{"src": "http://plain"}]}, "images[0].src"),
        ({"routing_key": KEY, "event_action": "trigger"}, "payload"),
    ],
)
def test_invalid_events_are_refused_with_400(
    pd: FakePagerDuty, http: httpx.Client, event: dict[str, Any], error: str
) -> None:
    resp = _post(http, pd, event)
    assert resp.status_code == 400
    body = resp.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert any(error in e for e in body["errors"]), body["errors"]
    assert pd.events() == [] and pd.incidents() == []


def test_a_summary_of_exactly_1024_chars_and_optional_fields_are_accepted(
    pd: FakePagerDuty, http: httpx.Client
) -> None:
    event = _trigger(
        summary="s" * 1024, component="db", group="prod", timestamp="2026-01-01T00:00:00Z"
    )
    event |= {"links": [{"href": "https://x"}], "images": [{"src": "https://i"}]}
    assert _post(http, pd, event).status_code == 202


def test_non_json_is_400(pd: FakePagerDuty, http: httpx.Client) -> None:
    resp = http.post(pd.base_url + ENQUEUE_PATH, content=b"{nope")
    assert resp.status_code == 400 and resp.json()["status"] == "invalid event"


def test_unknown_routing_keys_can_be_refused(http: httpx.Client) -> None:
    with FakePagerDuty(routing_keys=[KEY]) as pd:
        assert _post(http, pd, _trigger()).status_code == 202
        resp = _post(http, pd, _trigger() | {"routing_key": "y" * 32})
        assert resp.status_code == 400 and "routing_key" in resp.json()["errors"][0]


def test_rate_limit_is_per_routing_key_over_60_seconds_without_retry_after(
    http: httpx.Client,
) -> None:
    clock = _Clock()
    with FakePagerDuty(events_per_minute=2, clock=clock) as pd:
        assert [_post(http, pd, _trigger()).status_code for _ in range(2)] == [202, 202]
        throttled = _post(http, pd, _trigger())
        assert throttled.status_code == 429 and "retry-after" not in throttled.headers
        assert _post(http, pd, _trigger() | {"routing_key": "z" * 32}).status_code == 202
        clock.now += 59
        assert _post(http, pd, _trigger()).status_code == 429
        clock.now += 1.5
        assert _post(http, pd, _trigger()).status_code == 202
        assert pd.incidents()[0]["triggers"] == 3  # the throttled events were not ingested


def test_fail_next_and_inspection_endpoints(pd: FakePagerDuty, http: httpx.Client) -> None:
    assert http.post(pd.base_url + "/_test/fail-next", json={"status": 503, "count": 1}).is_success
    assert _post(http, pd, _trigger()).status_code == 503
    assert _post(http, pd, _trigger()).status_code == 202
    assert http.get(pd.base_url + "/_test/incidents").json()[0]["dedup_key"] == "inc-1"
    assert len(http.get(pd.base_url + "/_test/events").json()) == 1
    assert http.get(pd.base_url + "/_test/rejected").json()[0]["status"] == 503
    assert http.post(pd.base_url + "/_test/fail-next", json={}).status_code == 400
    assert http.post(pd.base_url + "/_test/reset").is_success
    assert pd.events() == pd.incidents() == pd.rejected() == []
    assert pd.wait_for(0, timeout=0.1) == []
    with pytest.raises(TimeoutError):
        pd.wait_for(1, timeout=0.01)
