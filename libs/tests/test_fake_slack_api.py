"""The fake Slack Web API enforces chat.postMessage (contracts.md §5.2-5.4) over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cc.testing.fake_slack_api import DEFAULT_CHANNEL, DEFAULT_TOKEN, FakeSlackApi


class _Clock:
    """A hand-advanced clock so rate-limit tests never sleep."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy from the environment must never see loopback test traffic.
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


def _post(
    http: httpx.Client, slack: FakeSlackApi, payload: Any, token: str | None = DEFAULT_TOKEN
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return http.post(slack.api_url + "/chat.postMessage", json=payload, headers=headers)


def test_a_post_returns_a_fresh_ts_and_is_recorded_as_a_root(
    slack: FakeSlackApi, http: httpx.Client
) -> None:
    first = _post(http, slack, {"channel": DEFAULT_CHANNEL, "text": "hi"})
    second = _post(http, slack, {"channel": DEFAULT_CHANNEL, "text": "again"})
    assert first.status_code == 200
    body = first.json()
    assert body["ok"] is True and body["channel"] == DEFAULT_CHANNEL
    assert body["ts"] != second.json()["ts"]
    assert body["message"]["text"] == "hi"
    assert [m["thread_ts"] for m in slack.messages()] == [None, None]
    assert set(slack.threads()) == {body["ts"], second.json()["ts"]}


def test_a_reply_joins_its_roots_thread(slack: FakeSlackApi, http: httpx.Client) -> None:
    root = _post(http, slack, {"channel": DEFAULT_CHANNEL, "text": "root"}).json()["ts"]
    reply = _post(http, slack, {"channel": DEFAULT_CHANNEL, "text": "r1", "thread_ts": root})
    assert reply.json()["ok"] is True
    assert reply.json()["message"]["thread_ts"] == root
    assert [m["text"] for m in slack.threads()[root]] == ["r1"]


@pytest.mark.parametrize(
    ("payload", "token", "error"),
    [
        ({"channel": DEFAULT_CHANNEL, "text": "hi"}, None, "not_authed"),
        ({"channel": DEFAULT_CHANNEL, "text": "hi"}, "xoxb-wrong", "invalid_auth"),
        ({"channel": "C0NOWHERE", "text": "hi"}, DEFAULT_TOKEN, "channel_not_found"),
        ({"channel": DEFAULT_CHANNEL}, DEFAULT_TOKEN, "no_text"),
        (
            {"channel": DEFAULT_CHANNEL, "text": "x", "blocks": [{"type": "divider"}] * 51},
            DEFAULT_TOKEN,
            "invalid_blocks",
        ),
        (
            {"channel": DEFAULT_CHANNEL, "text": "x", "thread_ts": "1.000001"},
            DEFAULT_TOKEN,
            "thread_not_found",
        ),
    ],
)
def test_errors_are_http_200_with_ok_false(
    slack: FakeSlackApi, http: httpx.Client, payload: Any, token: str | None, error: str
) -> None:
    resp = _post(http, slack, payload, token)
    assert (resp.status_code, resp.json()) == (200, {"ok": False, "error": error})
    assert slack.messages() == []
    assert slack.rejected()[-1]["error"] == error


def test_a_reply_cannot_name_a_reply_or_another_channels_root(http: httpx.Client) -> None:
    with FakeSlackApi(channels=("C1", "C2")) as slack:
        root = _post(http, slack, {"channel": "C1", "text": "root"}).json()["ts"]
        reply = _post(http, slack, {"channel": "C1", "text": "r", "thread_ts": root}).json()
        elsewhere = _post(http, slack, {"channel": "C2", "text": "x", "thread_ts": root})
        nested = _post(http, slack, {"channel": "C1", "text": "x", "thread_ts": reply["ts"]})
    assert elsewhere.json()["error"] == nested.json()["error"] == "thread_not_found"


def test_over_the_burst_is_429_with_retry_after_per_channel(http: httpx.Client) -> None:
    clock = _Clock()
    with FakeSlackApi(channels=("C1", "C2"), burst=2, clock=clock) as slack:
        burst = [_post(http, slack, {"channel": "C1", "text": "x"}).status_code for _ in "ab"]
        assert burst == [200, 200]
        limited = _post(http, slack, {"channel": "C1", "text": "x"})
        assert limited.status_code == 429
        assert limited.json() == {"ok": False, "error": "ratelimited"}
        assert int(limited.headers["Retry-After"]) >= 1
        assert _post(http, slack, {"channel": "C2", "text": "x"}).status_code == 200
        clock.now += 1.0  # one slot drains a second
        assert _post(http, slack, {"channel": "C1", "text": "x"}).status_code == 200


def test_fail_next_wait_for_and_reset(slack: FakeSlackApi, http: httpx.Client) -> None:
    slack.fail_next(500, "internal_error")
    assert _post(http, slack, {"channel": DEFAULT_CHANNEL, "text": "x"}).status_code == 500
    assert _post(http, slack, {"channel": DEFAULT_CHANNEL, "text": "x"}).status_code == 200
    assert len(slack.wait_for(1, timeout=1)) == 1
    with pytest.raises(TimeoutError):
        slack.wait_for(2, timeout=0.05)
    slack.reset()
    assert slack.messages() == [] and slack.rejected() == [] and slack.threads() == {}


def test_other_paths_are_unknown_method(slack: FakeSlackApi, http: httpx.Client) -> None:
    resp = http.post(slack.api_url + "/chat.update", json={})
    assert (resp.status_code, resp.json()["error"]) == (404, "unknown_method")
