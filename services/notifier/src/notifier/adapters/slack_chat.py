"""Slack Web API chat.postMessage (contracts.md §5.2-5.3): `ok` decides, not the HTTP status.

Success is HTTP 200 `{"ok": true, "ts": ...}`; its `Delivery.response` is
`ts=<message ts> channel=<channel id>` (`domain/slack_threads.delivered_response`), which is how
a thread's root survives a restart (it is on the delivery log). `ok: false` is permanent except
`ratelimited` (429, honours Retry-After); 5xx and network errors back off, then fail.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from notifier.adapters.http_sender import Verdict
from notifier.adapters.slack import SlackRetries
from notifier.domain.slack_threads import delivered_response

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api"
RATELIMITED = "ratelimited"


class SlackChatSender(SlackRetries):
    """Posts with a bot token (the token is the secret: only in the Authorization header)."""

    span_name = "slack chat.postMessage"

    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        max_attempts: int,
        timeout: float,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        stop: threading.Event | None = None,
    ) -> None:
        super().__init__(
            max_attempts=max_attempts,
            timeout=timeout,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            stop=stop,
            headers={"Authorization": f"Bearer {token}"},
        )
        self._url = api_url.rstrip("/") + "/chat.postMessage"

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        return self._http.post(self._url, json=payload)

    def _judge(self, response: httpx.Response) -> Verdict:
        """`ok` is delivered, `ok: false` is final unless rate limited."""
        body = _json(response)
        error = str(body.get("error", "")) if body else ""
        last = f"HTTP {response.status_code} error={error or response.text[:200]}"
        if response.status_code == 429 or error == RATELIMITED:
            retry_after = response.headers.get("Retry-After")
            log.warning("slack rate limited", extra={"retry_after": retry_after})
            return Verdict("retry", last, retry_after, rate_limited=True)
        if response.status_code >= 500:
            return Verdict("retry", last)
        if response.status_code == 200 and body and body.get("ok") is True:
            ts, channel = str(body.get("ts", "")), str(body.get("channel", ""))
            return Verdict("delivered", delivered_response(ts, channel))
        # ok:false (channel_not_found, invalid_auth, thread_not_found, ...) or another 4xx:
        # resending the same request cannot succeed
        return Verdict("final", last)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
