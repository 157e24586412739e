"""Interfaces the handlers depend on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditWrite:
    """One document to store with create semantics."""

    index: str
    doc_id: str
    document: dict[str, Any]
    source: bytes | None = None
    """The document already serialised as JSON (same content), when the caller has it."""


@dataclass
class WriteResult:
    """Per write (by position): refused for good (a mapping error), or already there (409)."""

    rejected: dict[int, str] = field(default_factory=dict)
    conflicts: list[int] = field(default_factory=list)


class AuditStore(Protocol):
    """Stores audit documents with create semantics and reads back what chaining needs.

    Every method raises `RetryableError` when the store is unavailable (nothing to commit then).
    """

    def write(self, writes: list[AuditWrite]) -> WriteResult:
        """Create the documents; report refusals and conflicts by position."""
        ...

    def lookup(self, keys: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """Stored documents (index, id) -> their `kafka` and `commandcenter.chain` fields, by id."""
        ...

    def last_chained(self, stream: str, before_offset: int) -> dict[str, Any] | None:
        """The stream's chained document with the highest offset below `before_offset`."""
        ...
