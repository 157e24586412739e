"""Expected alert rate of one signature, learned online with daily and weekly seasonality.

Hourly counts feed three exponentially weighted means: one per hour of the week (168 slots),
one per hour of the day (24) and one overall. A young slot is shrunk towards the coarser level
(weekly -> daily -> overall -> prior), so a new signature starts at the prior and a week-old one
already knows its daily rhythm. Hours without alerts count as zeros, folded in lazily and in
closed form when the slot is next used, so each event costs O(1) whatever the gaps.
"""

from __future__ import annotations

import base64
from array import array
from dataclasses import dataclass
from typing import Any

WEEK = 168
DAY = 24


def occurrences(first: int, end: int, slot: int, period: int) -> int:
    """How many hours h in [first, end) have h % period == slot."""
    if end <= first:
        return 0
    return (end - 1 - slot) // period - (first - 1 - slot) // period


def decayed(mean: float, n_before: int, zeros: int, alpha: float) -> float:
    """The mean after `zeros` zero observations (step size max(1/n, alpha), as in `fold`)."""
    if zeros <= 0 or mean == 0.0:
        return mean
    warm = int(1.0 / alpha)
    if n_before < warm:
        first = min(zeros, warm - n_before)
        mean = mean * n_before / (n_before + first) if n_before + first > 0 else 0.0
        zeros -= first
    return mean * (1.0 - alpha) ** zeros if zeros > 0 else mean


@dataclass(frozen=True)
class Expectation:
    """The expected rate for an hour and what it was made of (for the evidence)."""

    per_hour: float
    weekly: float
    weeks: int
    daily: float
    days: int
    overall: float
    hours: int


class _Level:
    """One seasonal level: a mean per slot, and the last hour folded into each slot."""

    __slots__ = ("alpha", "at", "means", "period")

    def __init__(self, period: int, alpha: float) -> None:
        self.period = period
        self.alpha = alpha
        self.means = array("d", bytes(8 * period))
        self.at = array("q", [-1]) * period

    def current(self, first: int, hour: int) -> tuple[float, int]:
        """(mean, observations) of `hour`'s slot, counting the zero hours not folded yet."""
        slot = hour % self.period
        last = self.at[slot]
        start = first if last < 0 else last + 1
        n_before = occurrences(first, start, slot, self.period)
        zeros = occurrences(start, hour, slot, self.period)
        return decayed(self.means[slot], n_before, zeros, self.alpha), n_before + zeros

    def fold(self, first: int, hour: int, value: float) -> None:
        """Add `hour`'s count to its slot."""
        mean, n = self.current(first, hour)
        n += 1
        step = max(1.0 / n, self.alpha)
        slot = hour % self.period
        self.means[slot] = mean + step * (value - mean)
        self.at[slot] = hour

    def dump(self) -> list[str]:
        return [_b64(self.means), _b64(self.at)]

    def load(self, data: list[str]) -> None:
        self.means = array("d", base64.b64decode(data[0]))
        self.at = array("q", base64.b64decode(data[1]))


def _b64(values: array[Any]) -> str:
    return base64.b64encode(values.tobytes()).decode()


class SeasonalBaseline:
    """Hourly counts of one signature and the seasonal means learned from them."""

    __slots__ = ("count", "daily", "first", "hour", "overall", "weekly")

    def __init__(self, daily_alpha: float, weekly_alpha: float, overall_alpha: float) -> None:
        self.first = -1
        """The first hour ever seen (-1: none yet)."""
        self.hour = -1
        """The hour being counted (not folded yet)."""
        self.count = 0.0
        self.weekly = _Level(WEEK, weekly_alpha)
        self.daily = _Level(DAY, daily_alpha)
        self.overall = _Level(1, overall_alpha)

    def add(self, hour: int) -> None:
        """Count one new firing in `hour` (a late one, from an hour already folded, is dropped)."""
        if self.first < 0:
            self.first = self.hour = hour
        if hour == self.hour:
            self.count += 1

    def roll(self, hour: int, cap: float) -> bool:
        """Fold the counted hour in once `hour` has begun; `cap` limits what a storm teaches."""
        if hour <= self.hour or self.first < 0:
            return False
        if self.count > 0:
            value = min(self.count, cap)
            for level in (self.weekly, self.daily, self.overall):
                level.fold(self.first, self.hour, value)
        self.hour, self.count = hour, 0.0
        return True

    def expect(self, hour: int, prior: float, shrink: float) -> Expectation:
        """Expected firings per hour in `hour`: weekly slot, shrunk to daily, overall, prior."""
        if self.first < 0:
            return Expectation(prior, 0.0, 0, 0.0, 0, prior, 0)
        overall, hours = self.overall.current(self.first, hour)
        daily, days = self.daily.current(self.first, hour)
        weekly, weeks = self.weekly.current(self.first, hour)
        g = (min(hours, 1 / self.overall.alpha) * overall + shrink * prior) / (
            min(hours, 1 / self.overall.alpha) + shrink
        )
        nd = min(days, 1 / self.daily.alpha)
        d = (nd * daily + shrink * g) / (nd + shrink)
        nw = min(weeks, 1 / self.weekly.alpha)
        w = (nw * weekly + shrink * d) / (nw + shrink)
        return Expectation(w, weekly, weeks, daily, days, overall, hours)

    def dump_counter(self) -> list[Any]:
        """JSON-ready state of the hour being counted (changes with every firing)."""
        return [self.first, self.hour, self.count]

    def load_counter(self, data: list[Any]) -> None:
        """Restore from `dump_counter()`."""
        self.first, self.hour, self.count = data

    def dump_means(self) -> dict[str, Any]:
        """JSON-ready state of the learnt means (changes at most once an hour)."""
        return {"w": self.weekly.dump(), "d": self.daily.dump(), "o": self.overall.dump()}

    def load_means(self, data: dict[str, Any]) -> None:
        """Restore from `dump_means()`."""
        self.weekly.load(data["w"])
        self.daily.load(data["d"])
        self.overall.load(data["o"])
