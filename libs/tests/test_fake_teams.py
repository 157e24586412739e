"""The fake Teams webhook enforces the incoming-webhook contract over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cc.testing.fake_teams import ADAPTIVE_CARD, FAILED_PREFIX, FakeTeams


class _Clock:
    """A hand-advanced clock so throttling tests never sleep."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _card(**content: Any) -> dict[str, Any]:
    card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "hi"}]}
    attachment = {"contentType": ADAPTIVE_CARD, "content": card | content}
    return {"type": "message", "attachments": [attachment]}


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


def test_workflows_webhook_accepts_an_adaptive_card_with_202(
    teams: FakeTeams, http: httpx.Client
) -> None:
    resp = http.post(teams.webhook_url, json=_card())
    assert (resp.status_code, resp.text) == (202, "")
    [msg] = teams.received()
    assert msg["json"] == _card() and msg["size"] > 0


def test_connector_webhook_answers_200_with_1_and_accepts_message_cards(http: httpx.Client) -> None:
    with FakeTeams(flavour="connector") as teams:
        resp = http.post(teams.webhook_url, json={"@type": "MessageCard", "text": "hi"})
        assert (resp.status_code, resp.text) == (200, "1")
        resp = http.post(teams.webhook_url, json={"@type": "MessageCard"})
        assert resp.status_code == 200 and resp.text.startswith(FAILED_PREFIX + " HTTP error 400")


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "plain"},
        {"type": "message", "attachments": []},
        _card(type="HeroCard"),
        _card(version="2.0"),
        _card(body="text"),
        {"type": "message", "attachments": [{"contentType": "image/png", "content": {}}]},
    ],
)
def test_malformed_messages_are_400(teams: FakeTeams, http: httpx.Client, payload: Any) -> None:
    assert http.post(teams.webhook_url, json=payload).status_code == 400
    assert teams.received() == [] and teams.rejected()[0]["status"] == 400


def test_non_json_is_400(teams: FakeTeams, http: httpx.Client) -> None:
    assert http.post(teams.webhook_url, content=b"<xml/>").status_code == 400


def test_oversized_payload_is_413_or_wrapped_413(http: httpx.Client) -> None:
    big = _card(body=[{"type": "TextBlock", "text": "x" * 29_000}])
    with FakeTeams() as teams:
        assert http.post(teams.webhook_url, json=big).status_code == 413
    with FakeTeams(flavour="connector") as teams:
        resp = http.post(teams.webhook_url, json=big)
        assert resp.status_code == 200 and "HTTP error 413 with ContextId" in resp.text
        assert teams.received() == []


def test_unknown_path_is_404(teams: FakeTeams, http: httpx.Client) -> None:
    assert http.post(teams.base_url + "/workflows/other", json=_card()).status_code == 404


def test_throttling_is_a_one_second_window_with_retry_after(http: httpx.Client) -> None:
    clock = _Clock()
    with FakeTeams(requests_per_s=2, retry_after_s=3, clock=clock) as teams:
        codes = [http.post(teams.webhook_url, json=_card()).status_code for _ in range(3)]
        assert codes == [202, 202, 429]
        throttled = http.post(teams.webhook_url, json=_card())
        assert throttled.headers["retry-after"] == "3"
        clock.now += 1
        assert http.post(teams.webhook_url, json=_card()).status_code == 202
        assert len(teams.received()) == 3


def test_throttling_is_a_real_429_even_for_connectors(http: httpx.Client) -> None:
    with FakeTeams(flavour="connector", requests_per_s=1, clock=_Clock()) as teams:
        http.post(teams.webhook_url, json=_card())
        assert http.post(teams.webhook_url, json=_card()).status_code == 429


def test_fail_next_and_inspection_endpoints(teams: FakeTeams, http: httpx.Client) -> None:
    spec = {"status": 429, "count": 1, "retry_after": 2}
    assert http.post(teams.base_url + "/_test/fail-next", json=spec).is_success
    resp = http.post(teams.webhook_url, json=_card())
    assert (resp.status_code, resp.headers["retry-after"]) == (429, "2")
    assert http.post(teams.webhook_url, json=_card()).status_code == 202
    assert len(http.get(teams.base_url + "/_test/received").json()) == 1
    assert http.get(teams.base_url + "/_test/rejected").json()[0]["status"] == 429
    assert http.post(teams.base_url + "/_test/fail-next", json=[]).status_code == 400
    assert http.post(teams.base_url + "/_test/reset").is_success
    assert teams.received() == teams.rejected() == []
    with pytest.raises(TimeoutError):
        teams.wait_for(1, timeout=0.01)
