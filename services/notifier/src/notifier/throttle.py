"""Keeps one destination under its provider's rate limit by waiting before each send."""

from __future__ import annotations

import threading
import time
from typing import Any

from notifier.domain.token_bucket import TokenBucket
from notifier.ports import ChatSender, Delivery


class ThrottledSender:
    """A ChatSender that takes a token first; waits are cut short when the service stops."""

    def __init__(
        self, sender: ChatSender, bucket: TokenBucket, stop: threading.Event | None = None
    ) -> None:
        self.sender = sender
        self.bucket = bucket
        self._stop = stop or threading.Event()

    def send(self, payload: dict[str, Any]) -> Delivery:
        """Wait for a token, then send."""
        wait = self.bucket.take(time.monotonic())
        if wait > 0:
            self._stop.wait(wait)
        return self.sender.send(payload)
