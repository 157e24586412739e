"""Slack incoming webhook: 200 "ok" is success; 429 honours Retry-After; 5xx retried."""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from notifier.ports import Delivery

log = logging.getLogger(__name__)


class SlackWebhookSender:
    """Posts to one incoming-webhook URL (the URL is the secret: never logged)."""

    def __init__(
        self,
        url: str,
        *,
        max_attempts: int,
        timeout: float,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        stop: threading.Event | None = None,
    ) -> None:
        self._url = url
        self._http = httpx.Client(timeout=timeout)
        self.max_attempts = max_attempts
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self._stop = stop or threading.Event()
        self._tracer = trace.get_tracer("notifier.slack")

    def send(self, payload: dict[str, Any]) -> Delivery:
        """Deliver or give up: 4xx other than 429 is permanent; network trouble is retryable."""
        backoff = self.backoff_s
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            with self._tracer.start_as_current_span(
                "slack webhook POST", kind=SpanKind.CLIENT
            ) as span:
                try:
                    response = self._http.post(self._url, json=payload)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    span.set_attribute("error.type", type(exc).__name__)
                    backoff = self._back_off(attempt, backoff)
                    continue
                span.set_attribute("http.response.status_code", response.status_code)
            last = f"HTTP {response.status_code} {response.text[:200]}"
            if response.status_code == 200 and response.text == "ok":
                return Delivery(True, attempt, last)
            if response.status_code == 429:
                wait = float(response.headers.get("Retry-After", "1"))
                log.warning("slack rate limited", extra={"retry_after_s": wait, "attempt": attempt})
                self._stop.wait(wait)
                continue
            if response.status_code >= 500:
                backoff = self._back_off(attempt, backoff)
                continue
            return Delivery(False, attempt, last)  # 4xx: the payload or channel is wrong for good
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
