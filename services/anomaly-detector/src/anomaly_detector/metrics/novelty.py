"""Familiarity memory: how far the latest short shape is from every shape this series has shown.

Each series keeps up to `PROTOTYPES` remembered windows of its last `SHAPE` values (adaptive
resonance style): a window within `vigilance` of a remembered one (max-norm, in units of the
series' range seen so far) refreshes it; a farther one is novel and is remembered, replacing the
least recently matched when the memory is full. Spikes or swings the series has shown before
become familiar, so only new behaviour scores high. Distances are relative to the range seen
*so far* (streaming; a new extreme is far from everything).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

SHAPE = 2
PROTOTYPES = 96


@dataclass
class NoveltyBank:
    """Per series: remembered windows, when each was last matched, how many, and the range."""

    protos: Floats
    used: Floats
    stored: Floats
    low: Floats
    high: Floats

    @classmethod
    def empty(cls, size: int = 0) -> NoveltyBank:
        """A bank for `size` new series."""
        return cls(
            np.zeros((size, PROTOTYPES, SHAPE)),
            np.zeros((size, PROTOTYPES)),
            np.zeros(size),
            np.full(size, np.inf),
            np.full(size, -np.inf),
        )

    def grow(self, extra: int) -> None:
        """Append `extra` fresh series."""
        new = NoveltyBank.empty(extra)
        for name in ("protos", "used", "stored", "low", "high"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(new, name)]))

    def row(self, i: int) -> list[float]:
        """Series i as floats."""
        parts = [self.protos[i].ravel(), self.used[i], [self.stored[i], self.low[i], self.high[i]]]
        flat: list[float] = np.concatenate(parts).tolist()
        return flat

    def set_row(self, i: int, values: list[float]) -> None:
        """Restore series i from `row` output."""
        v = np.asarray(values)
        k = PROTOTYPES * SHAPE
        self.protos[i] = v[:k].reshape(PROTOTYPES, SHAPE)
        self.used[i] = v[k : k + PROTOTYPES]
        self.stored[i], self.low[i], self.high[i] = v[k + PROTOTYPES :]


def novelty_width() -> int:
    """Floats in one persisted series."""
    return PROTOTYPES * SHAPE + PROTOTYPES + 3


def observe(
    bank: NoveltyBank, idx: Ints, windows: Floats, clock: Floats, floor: Floats, vigilance: float
) -> Floats:
    """Distance (in vigilance units) of each window to its nearest remembered one; then learn."""
    low, high = bank.low[idx], bank.high[idx]
    latest = windows[:, -1]
    seen = np.isfinite(low)
    span = np.where(seen, high - low, 0.0)
    span = np.maximum(span, floor)
    protos = bank.protos[idx]
    count = bank.stored[idx].astype(np.int64)
    dist = np.abs(protos - windows[:, None, :]).max(axis=2) / span[:, None]
    slots = np.arange(PROTOTYPES)[None, :]
    dist = np.where(slots < count[:, None], dist, np.inf)
    nearest = dist.argmin(axis=1)
    best = dist[np.arange(len(idx)), nearest]
    novel = best > vigilance
    # learn: refresh the match, or remember the novel window
    target = np.where(
        novel,
        np.where(count < PROTOTYPES, count, bank.used[idx].argmin(axis=1)),
        nearest,
    )
    rows = idx
    bank.protos[rows[novel], target[novel]] = windows[novel]
    bank.used[rows, target] = clock
    bank.stored[idx] = np.minimum(count + novel, PROTOTYPES)
    bank.low[idx] = np.minimum(low, latest)
    bank.high[idx] = np.maximum(high, latest)
    out: Floats = np.where(np.isfinite(best), best / vigilance, 0.0)
    return out
