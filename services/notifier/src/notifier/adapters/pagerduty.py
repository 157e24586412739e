"""PagerDuty Events API v2 (contracts.md §6): 202 is success, 400 is final, 429/5xx are retried."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry.trace import Span

from notifier.adapters.http_sender import RetryingHttpSender, Verdict, backoff_delay, seconds

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://events.pagerduty.com"


class PagerDutyEventsSender(RetryingHttpSender):
    """Enqueues events; the routing key travels only in the body and is never logged."""

    span_name = "pagerduty enqueue POST"

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
        super().__init__(
            max_attempts=max_attempts,
            timeout=timeout,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            stop=stop,
            rng=rng,
        )
        self._url = base_url.rstrip("/") + "/v2/enqueue"
        # §6.4: PagerDuty sends no Retry-After and advises waiting "a few minutes" after a 429,
        # so throttling backs off from a longer base than server errors do.
        self.rate_limited_backoff_s = rate_limited_backoff_s

    def _annotate(self, span: Span, payload: dict[str, Any]) -> None:
        span.set_attribute("pagerduty.event_action", str(payload.get("event_action")))

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        return self._http.post(self._url, json=payload)

    def _judge(self, response: httpx.Response) -> Verdict:
        last = f"HTTP {response.status_code} {response.text[:200]}"
        if response.status_code == 202:
            return Verdict("delivered", last)
        if response.status_code == 429:
            log.warning("pagerduty rate limited")
            return Verdict("retry", last, response.headers.get("Retry-After"), rate_limited=True)
        if response.status_code >= 500:
            return Verdict("retry", last)
        return Verdict("final", last)  # 400 and other 4xx: the event is wrong for good

    def _wait(self, attempt: int, verdict: Verdict | None) -> None:
        told = None if verdict is None else seconds(verdict.retry_after)
        throttled = verdict is not None and verdict.rate_limited and told is None
        if throttled and attempt < self.max_attempts:
            base, cap = self.rate_limited_backoff_s, self.max_backoff_s
            self._stop.wait(backoff_delay(attempt, base, cap, self._rng))
            return
        super()._wait(attempt, verdict)
