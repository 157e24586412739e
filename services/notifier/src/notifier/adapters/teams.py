"""Teams incoming webhook: 202 (Workflows) or 200 "1" (connector) is success; 429/5xx retried."""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable
from typing import Any

import httpx

from notifier.adapters.http_sender import RetryingHttpSender, Verdict
from notifier.domain.teams_cards import encode_message

log = logging.getLogger(__name__)

# Connectors wrap Teams' own error in a 200 (MicrosoftDocs/msteams-docs#1810).
_WRAPPED = re.compile(r"^Webhook message delivery failed.*?HTTP error (\d{3})")


class TeamsWebhookSender(RetryingHttpSender):
    """Posts to one Teams webhook URL (the URL is the secret: never logged)."""

    span_name = "teams webhook POST"

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
        super().__init__(
            max_attempts=max_attempts,
            timeout=timeout,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            stop=stop,
            rng=rng,
        )
        self._url = url

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        # Explicit UTF-8 charset: without it Teams re-encodes as UTF-16, halving the size limit.
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return self._http.post(self._url, content=encode_message(payload), headers=headers)

    def _judge(self, response: httpx.Response) -> Verdict:
        last = f"HTTP {response.status_code} {response.text[:200]}"
        status = response.status_code
        if status == 200 and (wrapped := _WRAPPED.match(response.text)):
            status = int(wrapped.group(1))
        if status in (200, 202):
            return Verdict("delivered", last)
        if status == 429:
            retry_after = response.headers.get("Retry-After")
            log.warning("teams rate limited", extra={"retry_after": retry_after})
            return Verdict("retry", last, retry_after, rate_limited=True)
        if status >= 500:
            return Verdict("retry", last)
        return Verdict("final", last)  # 400/404/413: the card or the hook is wrong
