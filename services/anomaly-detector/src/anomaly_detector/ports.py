"""What the handlers need from the outside world (the shared state store fits `StateStore`)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, Protocol


class StateStore(Protocol):
    """Durable key/value state: cc.kafka.state's KafkaStateStore, or its in-memory twin."""

    def put(self, key: str, value: bytes | None) -> None: ...

    def items(self) -> Iterator[tuple[str, bytes]]: ...

    def flush(self) -> list[Future[Any]]: ...
