"""Interfaces the handlers depend on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one message."""

    delivered: bool
    attempts: int
    response: str


class ChatSender(Protocol):
    """Sends one message to a chat destination, retrying as the destination's contract says."""

    def send(self, payload: dict[str, Any]) -> Delivery: ...
