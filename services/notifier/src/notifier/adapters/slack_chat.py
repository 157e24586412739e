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
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from notifier.domain.slack_threads import delivered_response
from notifier.ports import Delivery

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api"
RATELIMITED = "ratelimited"


class SlackChatSender:
    """Posts with a bot token (the token is the secret: only in the Authorization header)."""

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
        self._url = api_url.rstrip("/") + "/chat.postMessage"
        self._http = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})
        self.max_attempts = max_attempts
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self._stop = stop or threading.Event()
        self._tracer = trace.get_tracer("notifier.slack_chat")

    def send(self, payload: dict[str, Any]) -> Delivery:
        """Post one message: `ok` is delivered, `ok: false` is final unless rate limited."""
        backoff = self.backoff_s
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            with self._tracer.start_as_current_span(
                "slack chat.postMessage", kind=SpanKind.CLIENT
            ) as span:
                try:
                    response = self._http.post(self._url, json=payload)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    span.set_attribute("error.type", type(exc).__name__)
                    backoff = self._back_off(attempt, backoff)
                    continue
                span.set_attribute("http.response.status_code", response.status_code)
            body = _json(response)
            error = str(body.get("error", "")) if body else ""
            last = f"HTTP {response.status_code} error={error or response.text[:200]}"
            if response.status_code == 429 or error == RATELIMITED:
                wait = _retry_after(response.headers.get("Retry-After"))
                log.warning("slack rate limited", extra={"retry_after_s": wait, "attempt": attempt})
                self._stop.wait(wait)
                continue
            if response.status_code >= 500:
                backoff = self._back_off(attempt, backoff)
                continue
            if response.status_code == 200 and body and body.get("ok") is True:
                ts, channel = str(body.get("ts", "")), str(body.get("channel", ""))
                return Delivery(True, attempt, delivered_response(ts, channel))
            # ok:false (channel_not_found, invalid_auth, thread_not_found, ...) or another 4xx:
            # resending the same request cannot succeed
            return Delivery(False, attempt, last)
        # still failing after every attempt: a failed delivery (dead-lettered by the handler),
        # not a pause, so one destination's outage does not hold up the others
        return Delivery(
            False, self.max_attempts, f"gave up after {self.max_attempts} attempts: {last}"
        )

    def _back_off(self, attempt: int, backoff: float) -> float:
        """Wait `backoff` (not after the last attempt); the next, doubled up to the cap."""
        if attempt < self.max_attempts:
            self._stop.wait(backoff)
        return min(backoff * 2, self.max_backoff_s)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retry_after(header: str | None) -> float:
    try:
        return max(float(header), 0.0) if header else 1.0
    except ValueError:  # an HTTP-date or garbage: wait the minimum Slack asks for
        return 1.0
