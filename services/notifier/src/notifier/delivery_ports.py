"""Interfaces of the durable delivery log that makes notifications effectively once."""

from __future__ import annotations

from typing import Protocol

from cc.events import NotificationSent


class DeliveryLog(Protocol):
    """Records an intent to send, durably, before the send is attempted."""

    def record(self, event: NotificationSent) -> None:
        """Return only once the record is durable; raise RetryableError if it cannot be."""
        ...


class SentKeys(Protocol):
    """What the log already holds: dedup key -> last status seen."""

    def read(self) -> dict[str, str]: ...
