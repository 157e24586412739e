"""Teams incoming webhook: 202 (Workflows) or 200 "1" (connector) is success; 429/5xx retried."""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from notifier.adapters.pagerduty import backoff_delay
from notifier.domain.teams_cards import encode_message
from notifier.ports import Delivery

log = logging.getLogger(__name__)

# Connectors wrap Teams' own error in a 200 (MicrosoftDocs/msteams-docs#1810).
_WRAPPED = re.compile(r"^Webhook message delivery failed.*?HTTP error (\d{3})")


class TeamsWebhookSender:
    """Posts to one Teams webhook URL (the URL is the secret: never logged)."""

    def __init__(
        self,
        url: str,
        *,
        max_attempts: int,
        timeout: float,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        stop: threading.Event | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._url = url
        self._http = httpx.Client(timeout=timeout)
        self.max_attempts, self.backoff_s, self.max_backoff_s = (
            max_attempts,
            backoff_s,
            max_backoff_s,
        )
        self._stop = stop or threading.Event()
        self._rng = rng
        self._tracer = trace.get_tracer("notifier.teams")

    def send(self, payload: dict[str, Any]) -> Delivery:
        """Deliver or give up: 4xx other than 429 is permanent; network trouble is retryable."""
        # Explicit UTF-8 charset: without it Teams re-encodes as UTF-16, halving the size limit.
        body, headers = encode_message(payload), {"Content-Type": "application/json; charset=utf-8"}
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            with self._tracer.start_as_current_span(
                "teams webhook POST", kind=SpanKind.CLIENT
            ) as span:
                try:
                    response = self._http.post(self._url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    span.set_attribute("error.type", type(exc).__name__)
                    self._wait(attempt, None)
                    continue
                span.set_attribute("http.response.status_code", response.status_code)
            last = f"HTTP {response.status_code} {response.text[:200]}"
            status = response.status_code
            if status == 200 and (wrapped := _WRAPPED.match(response.text)):
                status = int(wrapped.group(1))
            if status in (200, 202):
                return Delivery(True, attempt, last)
            if status == 429:
                retry_after = response.headers.get("Retry-After")
                log.warning("teams rate limited", extra={"retry_after": retry_after})
                self._wait(attempt, retry_after)
                continue
            if status >= 500:
                self._wait(attempt, None)
                continue
            return Delivery(False, attempt, last)  # 400/404/413: the card or the hook is wrong
        # still failing after every attempt: a failed delivery (dead-lettered by the handler)
        return Delivery(
            False, self.max_attempts, f"gave up after {self.max_attempts} attempts: {last}"
        )

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        if attempt == self.max_attempts:
            return  # no point waiting before giving up
        try:
            delay = float(retry_after) if retry_after else None
        except ValueError:  # an HTTP-date or garbage: fall back to our own schedule
            delay = None
        if delay is None:
            delay = backoff_delay(attempt, self.backoff_s, self.max_backoff_s, self._rng)
        self._stop.wait(delay)
