"""PagerDuty Events API v2 (contracts.md §6): 202 is success, 400 is final, 429/5xx are retried."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from notifier.ports import Delivery

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://events.pagerduty.com"


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so it never collapses."""
    delay: float = min(cap_s, base_s * 2 ** (attempt - 1))
    return delay / 2 + rng() * delay / 2


class PagerDutyEventsSender:
    """Enqueues events; the routing key travels only in the body and is never logged."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        max_attempts: int,
        timeout: float,
        backoff_s: float = 1.0,
        rate_limited_backoff_s: float = 30.0,
        max_backoff_s: float = 300.0,
        stop: threading.Event | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._url = base_url.rstrip("/") + "/v2/enqueue"
        self._http = httpx.Client(timeout=timeout)
        self.max_attempts = max_attempts
        # §6.4: PagerDuty sends no Retry-After and advises waiting "a few minutes" after a 429,
        # so throttling backs off from a longer base than server errors do.
        self.backoff_s, self.rate_limited_backoff_s = backoff_s, rate_limited_backoff_s
        self.max_backoff_s = max_backoff_s
        self._stop = stop or threading.Event()
        self._rng = rng
        self._tracer = trace.get_tracer("notifier.pagerduty")

    def send(self, payload: dict[str, Any]) -> Delivery:
        """Deliver one event or give up: 400 is permanent; 429, 5xx and network are retryable."""
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            with self._tracer.start_as_current_span(
                "pagerduty enqueue POST", kind=SpanKind.CLIENT
            ) as span:
                span.set_attribute("pagerduty.event_action", str(payload.get("event_action")))
                try:
                    response = self._http.post(self._url, json=payload)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    span.set_attribute("error.type", type(exc).__name__)
                    self._wait(attempt, self.backoff_s)
                    continue
                span.set_attribute("http.response.status_code", response.status_code)
            last = f"HTTP {response.status_code} {response.text[:200]}"
            if response.status_code == 202:
                return Delivery(True, attempt, last)
            if response.status_code == 429:
                log.warning("pagerduty rate limited", extra={"attempt": attempt})
                self._wait(
                    attempt, self.rate_limited_backoff_s, response.headers.get("Retry-After")
                )
                continue
            if response.status_code >= 500:
                self._wait(attempt, self.backoff_s)
                continue
            return Delivery(False, attempt, last)  # 400 and other 4xx: the event is wrong for good
        # still failing after every attempt: a failed delivery (dead-lettered by the handler)
        return Delivery(
            False, self.max_attempts, f"gave up after {self.max_attempts} attempts: {last}"
        )

    def _wait(self, attempt: int, base_s: float, retry_after: str | None = None) -> None:
        if attempt == self.max_attempts:
            return  # no point waiting before giving up
        try:
            delay = float(retry_after) if retry_after else None
        except ValueError:  # an HTTP-date or garbage: fall back to our own schedule
            delay = None
        if delay is None:
            delay = backoff_delay(attempt, base_s, self.max_backoff_s, self._rng)
        self._stop.wait(delay)
