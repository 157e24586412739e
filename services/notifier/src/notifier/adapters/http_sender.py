"""The retry loop every notification sender shares; each sender says how to post, how to read
an answer and how long to wait.

One attempt is one POST in a CLIENT span. A network error or a `retry` verdict is followed by
the sender's wait, a `final` verdict (a 4xx: the request is wrong for good) ends at once, and
after the last attempt the delivery is failed, not raised: the handler dead-letters it, so one
destination's outage holds up no other.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from notifier.ports import Delivery


@dataclass(frozen=True)
class Verdict:
    """What one answer means."""

    outcome: Literal["delivered", "retry", "final"]
    response: str
    """Recorded on the NotificationSent (status and a clipped body, or a thread's ts)."""
    retry_after: str | None = None
    """The server's Retry-After header, when it sent one."""
    rate_limited: bool = False


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so it never collapses."""
    delay: float = min(cap_s, base_s * 2 ** (attempt - 1))
    return delay / 2 + rng() * delay / 2


def seconds(header: str | None) -> float | None:
    """A Retry-After in seconds; None when absent or not a number (an HTTP-date, garbage)."""
    try:
        return max(float(header), 0.0) if header else None
    except ValueError:
        return None


class RetryingHttpSender:
    """Base of the Slack, PagerDuty and Teams senders."""

    span_name = "notification POST"

    def __init__(
        self,
        *,
        max_attempts: int,
        timeout: float,
        backoff_s: float,
        max_backoff_s: float,
        stop: threading.Event | None = None,
        rng: Callable[[], float] = random.random,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self.max_attempts = max_attempts
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self._stop = stop or threading.Event()
        self._rng = rng
        self._tracer = trace.get_tracer(f"notifier.{type(self).__name__}")

    def send(self, payload: dict[str, Any]) -> Delivery:
        """Deliver, give up at once on a final answer, or fail after the last attempt."""
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            with self._tracer.start_as_current_span(self.span_name, kind=SpanKind.CLIENT) as span:
                self._annotate(span, payload)
                try:
                    response = self._post(payload)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    span.set_attribute("error.type", type(exc).__name__)
                    self._wait(attempt, None)
                    continue
                span.set_attribute("http.response.status_code", response.status_code)
            verdict = self._judge(response)
            last = verdict.response
            if verdict.outcome == "delivered":
                return Delivery(True, attempt, last)
            if verdict.outcome == "final":
                return Delivery(False, attempt, last)
            self._wait(attempt, verdict)
        return Delivery(
            False, self.max_attempts, f"gave up after {self.max_attempts} attempts: {last}"
        )

    def _annotate(self, span: Span, payload: dict[str, Any]) -> None:
        """Extra span attributes (none by default)."""

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        raise NotImplementedError

    def _judge(self, response: httpx.Response) -> Verdict:
        raise NotImplementedError

    def _wait(self, attempt: int, verdict: Verdict | None) -> None:
        """Retry-After when the server sent one, else jittered backoff; never before giving up."""
        if attempt == self.max_attempts:
            return
        delay = None if verdict is None else seconds(verdict.retry_after)
        if delay is None:
            delay = backoff_delay(attempt, self.backoff_s, self.max_backoff_s, self._rng)
        self._stop.wait(delay)
