"""Fakes of the project's own ports for unit tests (outside services have their own servers)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from cc.kafka import ProduceError


class RecordingProducer:
    """Stands in for `EventProducer` in HTTP-route tests: acknowledges (`ack`), fails (`fail`)
    or never answers (`hang`) like Kafka would, and records what was sent."""

    def __init__(self, mode: str = "ack") -> None:
        self.mode = mode
        self.sent: list[tuple[str, str, Any]] = []

    async def send_batch_async(self, records: Sequence[tuple[str, str, Any]], **_: Any) -> None:
        """Record the batch once "Kafka" acknowledges it."""
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "fail":
            raise ProduceError("broker down")
        self.sent.extend(records)

    def ready(self) -> bool:
        """Readiness follows the mode."""
        return self.mode == "ack"

    def produce(self, *args: Any, **kwargs: Any) -> Future[None]:
        """Routes must await acknowledgements, never fire and forget."""
        raise AssertionError("the API must await acknowledgement via send_batch_async")
