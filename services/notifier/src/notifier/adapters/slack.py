"""Slack incoming webhook: 200 "ok" is success; 429 honours Retry-After; 5xx retried."""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from notifier.adapters.http_sender import RetryingHttpSender, Verdict, seconds

log = logging.getLogger(__name__)


class SlackRetries(RetryingHttpSender):
    """Slack's waits: Retry-After on 429 (1 s when absent), else backoff doubling to a cap."""

    def _wait(self, attempt: int, verdict: Verdict | None) -> None:
        if verdict is not None and verdict.rate_limited:
            wait = seconds(verdict.retry_after)
            self._stop.wait(1.0 if wait is None else wait)
            return
        if attempt < self.max_attempts:
            self._stop.wait(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


class SlackWebhookSender(SlackRetries):
    """Posts to one incoming-webhook URL (the URL is the secret: never logged)."""

    span_name = "slack webhook POST"

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
        super().__init__(
            max_attempts=max_attempts,
            timeout=timeout,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            stop=stop,
        )
        self._url = url

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        return self._http.post(self._url, json=payload)

    def _judge(self, response: httpx.Response) -> Verdict:
        last = f"HTTP {response.status_code} {response.text[:200]}"
        if response.status_code == 200 and response.text == "ok":
            return Verdict("delivered", last)
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            log.warning("slack rate limited", extra={"retry_after": retry_after})
            return Verdict("retry", last, retry_after, rate_limited=True)
        if response.status_code >= 500:
            return Verdict("retry", last)
        return Verdict("final", last)  # 4xx: the payload or channel is wrong for good
