"""The fake Slack webhook enforces contracts.md §5 over real loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cc.testing.fake_slack import DEFAULT_WEBHOOK_PATH, FakeSlack


class _Clock:
    """A hand-advanced clock so rate-limit tests never sleep."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy from the environment must never see loopback test traffic.
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


def _post(http: httpx.Client, url: str, payload: Any) -> httpx.Response:
    return http.post(url, json=payload)


def test_ok_returns_plain_ok_and_records(slack: FakeSlack, http: httpx.Client) -> None:
    resp = http.post(
        slack.webhook_url, json={"text": "hi"}, headers={"Authorization": "Bearer secret"}
    )
    assert (resp.status_code, resp.text) == (200, "ok")
    assert resp.headers["content-type"].startswith("text/plain")
    [msg] = slack.received()
    assert msg["path"] == DEFAULT_WEBHOOK_PATH
    assert msg["json"] == {"text": "hi"}
    assert "authorization" not in msg["headers"]
    assert msg["truncated"] is False
    assert isinstance(msg["received_at"], float)


def test_wrong_path_is_no_service(slack: FakeSlack, http: httpx.Client) -> None:
    resp = _post(http, slack.url + "/services/T000/B000/wrong", {"text": "hi"})
    assert (resp.status_code, resp.text) == (404, "no_service")
    assert slack.received() == []
    assert slack.rejected()[0]["status"] == 404


def test_missing_text_is_no_text(slack: FakeSlack, http: httpx.Client) -> None:
    resp = _post(http, slack.webhook_url, {"username": "bot"})
    assert (resp.status_code, resp.text) == (400, "no_text")


def test_non_json_content_type_is_invalid_payload(slack: FakeSlack, http: httpx.Client) -> None:
    resp = http.post(
        slack.webhook_url, content=b'{"text": "hi"}', headers={"Content-Type": "text/plain"}
    )
    assert (resp.status_code, resp.text) == (400, "invalid_payload")
    bad_json = http.post(
        slack.webhook_url, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (bad_json.status_code, bad_json.text) == (400, "invalid_payload")


def test_51_blocks_are_invalid(slack: FakeSlack, http: httpx.Client) -> None:
    blocks = [{"type": "divider"}] * 51
    resp = _post(http, slack.webhook_url, {"text": "x", "blocks": blocks})
    assert (resp.status_code, resp.text) == (400, "invalid_blocks")
    ok = _post(http, slack.webhook_url, {"text": "x", "blocks": blocks[:50]})
    assert ok.status_code == 200


def test_header_over_150_chars_is_invalid(slack: FakeSlack, http: httpx.Client) -> None:
    def header(n: int) -> dict[str, Any]:
        return {"type": "header", "text": {"type": "plain_text", "text": "h" * n}}

    resp = _post(http, slack.webhook_url, {"text": "x", "blocks": [header(151)]})
    assert (resp.status_code, resp.text) == (400, "invalid_blocks")
    assert "header" in slack.rejected()[0]["detail"]
    assert _post(http, slack.webhook_url, {"text": "x", "blocks": [header(150)]}).status_code == 200


@pytest.mark.parametrize(
    "block",
    [
        {"type": "nope"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
        {"type": "divider", "block_id": "b" * 256},
        "not an object",
    ],
)
def test_block_limits(slack: FakeSlack, http: httpx.Client, block: Any) -> None:
    resp = _post(http, slack.webhook_url, {"text": "x", "blocks": [block]})
    assert (resp.status_code, resp.text) == (400, "invalid_blocks")


def test_long_text_is_accepted_but_marked_truncated(slack: FakeSlack, http: httpx.Client) -> None:
    assert _post(http, slack.webhook_url, {"text": "t" * 40_001}).status_code == 200
    assert slack.received()[0]["truncated"] is True


def test_rate_limit_is_a_leaky_bucket(http: httpx.Client) -> None:
    clock = _Clock()
    with FakeSlack(burst=2, rate_per_s=1.0, clock=clock) as slack:
        for _ in range(2):
            assert _post(http, slack.webhook_url, {"text": "hi"}).status_code == 200
        limited = _post(http, slack.webhook_url, {"text": "hi"})
        assert (limited.status_code, limited.text) == (429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        assert len(slack.received()) == 2  # the refused message was not delivered
        clock.now += 1.0
        assert _post(http, slack.webhook_url, {"text": "hi"}).status_code == 200
        assert len(slack.received()) == 3


def test_fail_next_injects_failures(slack: FakeSlack, http: httpx.Client) -> None:
    slack.fail_next(500, "rollup_error", count=2)
    for _ in range(2):
        resp = _post(http, slack.webhook_url, {"text": "hi"})
        assert (resp.status_code, resp.text) == (500, "rollup_error")
    assert _post(http, slack.webhook_url, {"text": "hi"}).status_code == 200
    assert [r["body"] for r in slack.rejected()] == ["rollup_error", "rollup_error"]


def test_http_inspection_endpoints(slack: FakeSlack, http: httpx.Client) -> None:
    spec = {"status": 404, "body": "channel_not_found", "count": 1}
    assert http.post(slack.url + "/_test/fail-next", json=spec).status_code == 200
    assert _post(http, slack.webhook_url, {"text": "a"}).text == "channel_not_found"
    assert _post(http, slack.webhook_url, {"text": "b"}).status_code == 200
    received = http.get(slack.url + "/_test/received").json()
    assert [m["json"]["text"] for m in received] == ["b"]
    assert http.get(slack.url + "/_test/rejected").json()[0]["status"] == 404
    assert http.post(slack.url + "/_test/reset").status_code == 200
    assert slack.received() == []
    assert slack.rejected() == []


def test_wait_for_wakes_on_delivery_from_another_thread(
    slack: FakeSlack, http: httpx.Client
) -> None:
    sender = threading.Thread(target=_post, args=(http, slack.webhook_url, {"text": "later"}))
    sender.start()
    [msg] = slack.wait_for(1, timeout=5.0)
    sender.join()
    assert msg["json"]["text"] == "later"


def test_wait_for_times_out(slack: FakeSlack) -> None:
    with pytest.raises(TimeoutError, match="expected 1 Slack messages"):
        slack.wait_for(1, timeout=0.01)


def test_logs_mask_the_secret(
    slack: FakeSlack, http: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    _post(http, slack.webhook_url, {"text": "hi"})
    err = capfd.readouterr().err
    assert "XXXXXXXX" not in err
    assert "/services/T000/B000/***" in err
