"""A bounded key -> state map: least recently used entries are evicted; changes are tracked."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Table(Generic[T]):
    """At most `capacity` entries; `dirty` and `evicted` say what to write to state next."""

    def __init__(self, capacity: int, on_evict: Callable[[str, T], None] | None = None) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[str, T] = OrderedDict()
        self.dirty: set[str] = set()
        self.evicted: set[str] = set()
        self.on_evict = on_evict

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> T | None:
        """The entry, now the most recently used; None if absent."""
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def put(self, key: str, value: T) -> None:
        """Insert or replace (and mark changed); evicts the least recently used beyond capacity."""
        self.entries[key] = value
        self.entries.move_to_end(key)
        self.dirty.add(key)
        self.evicted.discard(key)
        while len(self.entries) > self.capacity:
            old, gone = self.entries.popitem(last=False)
            self.dirty.discard(old)
            self.evicted.add(old)
            if self.on_evict is not None:
                self.on_evict(old, gone)

    def restore(self, key: str, value: T) -> None:
        """Load an entry from state (not marked changed)."""
        self.entries[key] = value

    def drain(self) -> tuple[list[tuple[str, T]], list[str]]:
        """The changed entries and the evicted keys since the last drain."""
        changed = [(k, self.entries[k]) for k in self.dirty if k in self.entries]
        evicted = list(self.evicted)
        self.dirty.clear()
        self.evicted.clear()
        return changed, evicted
