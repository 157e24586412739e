"""Interfaces the handlers depend on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditWrite:
    """One document to store with create semantics."""

    index: str
    doc_id: str
    document: dict[str, Any]


class AuditStore(Protocol):
    """Stores audit documents; a document already stored under its id counts as stored.

    Returns, per write that can never succeed (a mapping error), its index and the reason.
    Raises `RetryableError` when the store is unavailable (nothing to commit then).
    """

    def write(self, writes: list[AuditWrite]) -> dict[int, str]: ...
