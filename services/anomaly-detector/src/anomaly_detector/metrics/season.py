"""Seasonal context: what this hour of the day, or of the week, usually shows for a series.

Each series keeps, per hour of the week (168 bins, keyed by the sample's own timestamp in UTC),
an exponentially weighted mean and variance of its values and how many samples each bin has
seen; hours of the day pool the seven bins of that hour. A sample is compared with its
hour-of-week bin once that bin has seen `min_seen` samples, otherwise with its hour of the day;
the log of that deviation (in the bin's spread, never below `spread_share` of the series' own
spread, nor below its quantum: a bin learned from a few samples underestimates its spread) is
averaged over the last few samples and scored against its own long-term mean and spread, Numenta
style. So a level that is ordinary at noon but not at 3 a.m., or a quiet Thursday that looks
like a Sunday, is news although no single step is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

WEEK_BINS = 168
DAY_BINS = 24


@dataclass
class SeasonBank:
    """Per series: per hour of the week the mean, variance and sample count; error statistics."""

    mean: Floats
    var: Floats
    seen: Floats
    short: Floats
    err_mean: Floats
    err_var: Floats
    err_count: Floats

    @classmethod
    def empty(cls, size: int = 0) -> SeasonBank:
        """A bank for `size` new series."""
        z = np.zeros
        return cls(
            z((size, WEEK_BINS)),
            z((size, WEEK_BINS)),
            z((size, WEEK_BINS)),
            z(size),
            z(size),
            z(size),
            z(size),
        )

    def grow(self, extra: int) -> None:
        """Append `extra` fresh series."""
        new = SeasonBank.empty(extra)
        for name in self.__dataclass_fields__:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(new, name)]))

    def row(self, i: int) -> list[float]:
        """Series i as floats."""
        flat: list[float] = np.concatenate(
            [np.atleast_1d(getattr(self, name)[i]) for name in self.__dataclass_fields__]
        ).tolist()
        return flat

    def set_row(self, i: int, values: list[float]) -> None:
        """Restore series i from `row` output."""
        pos = 0
        for name in self.__dataclass_fields__:
            arr = getattr(self, name)
            width = WEEK_BINS if arr.ndim == 2 else 1
            arr[i] = values[pos] if width == 1 else values[pos : pos + width]
            pos += width


def row_width() -> int:
    """Number of floats in one persisted series."""
    return 3 * WEEK_BINS + 4


def week_bin(times: Floats) -> Ints:
    """Hour of the week (0 = Thursday 00:00 UTC, the epoch's weekday) of epoch seconds."""
    hours = np.floor(times / 3600.0).astype(np.int64)
    out: Ints = np.mod(hours, WEEK_BINS)
    return out


@dataclass(frozen=True)
class SeasonParams:
    """Learning rates and gates of the seasonal score."""

    bin_rate: float = 0.2
    short_rate: float = 0.1
    error_rate: float = 0.004
    min_seen: float = 3.0
    min_day_seen: float = 3.0
    min_std: float = 0.05
    spread_share: float = 0.5
    warmup: float = 100.0
    max_z: float = 50.0


def step(
    bank: SeasonBank,
    idx: Ints,
    values: Floats,
    times: Floats,
    floor: Floats,
    scale: Floats,
    p: SeasonParams,
) -> tuple[Floats, Floats, Floats]:
    """Score each sample against its hour's profile, then learn it; (short, mean, std) of the
    averaged log deviation (score it with the caller's likelihood). `floor` is the series'
    smallest spread (its quantum), `scale` its current spread."""
    wb = week_bin(times)
    day = np.mod(wb[:, None] + DAY_BINS * np.arange(7)[None, :], WEEK_BINS)
    rows = idx[:, None]
    seen_d, mean_d, var_d = bank.seen[rows, day], bank.mean[rows, day], bank.var[rows, day]
    total = seen_d.sum(axis=1)
    pooled = (seen_d * mean_d).sum(axis=1) / np.maximum(total, 1e-12)
    pooled_var = (seen_d * (var_d + mean_d**2)).sum(axis=1) / np.maximum(total, 1e-12) - pooled**2
    seen_w, mean_w, var_w = bank.seen[idx, wb], bank.mean[idx, wb], bank.var[idx, wb]
    weekly = seen_w >= p.min_seen
    centre = np.where(weekly, mean_w, pooled)
    spread = np.sqrt(np.maximum(np.where(weekly, var_w, pooled_var), 0.0))
    spread = np.maximum(spread, np.maximum(floor, p.spread_share * scale))
    known = weekly | (total >= p.min_day_seen)
    dev = np.log1p(np.minimum(np.abs(values - centre) / spread, p.max_z))
    short = bank.short[idx]
    new_short = np.where(known, short + p.short_rate * (dev - short), short)
    mean, var, count = bank.err_mean[idx], bank.err_var[idx], bank.err_count[idx]
    std = np.maximum(np.sqrt(np.maximum(var, 0.0)), p.min_std)
    ready = known & (count >= p.warmup)
    out_short = np.where(ready, new_short, mean)

    # learn
    rate = np.maximum(1.0 / (seen_w + 1.0), p.bin_rate)
    delta = values - mean_w
    bank.mean[idx, wb] = mean_w + rate * delta
    bank.var[idx, wb] = np.where(seen_w > 0, (1.0 - rate) * (var_w + rate * delta * delta), 0.0)
    bank.seen[idx, wb] = seen_w + 1.0
    bank.short[idx] = new_short
    erate = np.maximum(1.0 / (count + 1.0), p.error_rate)
    d = new_short - mean
    bank.err_mean[idx] = np.where(known, mean + erate * d, mean)
    bank.err_var[idx] = np.where(known, (1.0 - erate) * (var + erate * d * d), var)
    bank.err_count[idx] = count + known
    return out_short, mean, std
