"""A sliding count over the last `window` seconds, kept as a ring of buckets (O(1) per add)."""

from __future__ import annotations

from typing import Any


class RateWindow:
    """New firings per bucket over the last `size` buckets; `total` is their sum."""

    __slots__ = ("counts", "head", "total", "width")

    def __init__(self, width: float, size: int) -> None:
        self.width = width
        self.counts = [0] * size
        self.head = -1
        """Absolute index of the newest bucket (time // width); -1 before the first add."""
        self.total = 0

    def bucket(self, t: float) -> int:
        """Absolute bucket index of time `t`."""
        return int(t // self.width)

    def advance(self, t: float) -> None:
        """Move the window's end to `t`, dropping buckets that fell out of it."""
        b = int(t // self.width)
        if b <= self.head:
            return
        size = len(self.counts)
        if self.head < 0 or b - self.head >= size:
            self.counts = [0] * size
            self.total = 0
        else:
            for i in range(self.head + 1, b + 1):
                slot = i % size
                self.total -= self.counts[slot]
                self.counts[slot] = 0
        self.head = b

    def add(self, t: float) -> bool:
        """Count one firing at `t`; False when `t` is older than the window (not counted)."""
        self.advance(t)
        b = int(t // self.width)
        if b <= self.head - len(self.counts):
            return False
        self.counts[b % len(self.counts)] += 1
        self.total += 1
        return True

    def falls_below(self, threshold: int) -> float:
        """The first time, with no new firings, at which the count is under `threshold`."""
        size = len(self.counts)
        remaining = self.total
        b = self.head
        oldest = self.head - size + 1
        # each step forward drops the oldest bucket still inside the window
        while remaining >= threshold and b < self.head + size:
            b += 1
            remaining -= self.counts[(b - size) % size] if b - size >= oldest else 0
        return b * self.width

    def dump(self) -> list[Any]:
        """JSON-ready state."""
        return [self.head, self.counts]

    def load(self, data: list[Any]) -> None:
        """Restore from `dump()` (the bucket count may have changed in the config: then reset)."""
        head, counts = data
        if len(counts) == len(self.counts):
            self.head, self.counts, self.total = head, list(counts), sum(counts)
