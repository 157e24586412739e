"""Streaming anomaly scores for many series at once (pure numpy; the model is injected).

One `step` takes at most one new sample per series and returns each one's score in [0, 1]
before any later sample is seen (strictly streaming: no look-ahead, no series length, no global
min/max). Per series the state is small: the last `LAGS` values, exponentially weighted mean and
variance, the smallest step seen (its quantum: spreads never fall below it, so quantised or
constant series do not blow up), error statistics, a familiarity memory (novelty.py) and a
decaying memory of the last detection.

A sample's raw score is the largest of
  - novelty: how far the latest short shape is from every shape this series has shown, in
    vigilance units v, mapped to 1 - 1/v (twice the vigilance away is 0.5);
  - forecast surprise: |value - forecast| over its usual size, where the TensorFlow model
    forecasts the next standardised value from the last `LAGS` (called once per step, batched);
  - error likelihoods in Numenta's style: the short-term average of the (log) forecast error,
    and of the distance to the slow mean, against their own long-term mean and spread;
    these two and the forecast surprise are scaled down by familiarity, steeply (by the cube of
    the novelty up to 1: a jump the series makes every day is no news, a nearly familiar one
    little);
  - a slow error likelihood: the same for a ~50-sample average of the forecast error, not
    scaled by familiarity (ordinary values in an unusual order keep the forecaster wrong for
    a while: a contextual change no single sample shows);
  - a drift: the series' ~100-sample mean against where that mean has been over ~1000 samples
    (its own exponentially weighted mean and spread), for slow rises and falls that no single
    step and no short average shows;
  - a record: how far the value lies beyond the range the series has held (an extreme is
    established once `record_hold` samples pass without a newer one, or once reported, so a
    slide to new lows is measured from where it started and reported once), in spreads s (the
    largest of the short, the long and the slow mean's spread, so a random walk's new highs
    are little news), mapped to s / (s + 0.75); only from the series' `record_after`th sample.
Surprises map a Gaussian tail probability p to d / (d + 5), d = -log10 p (0.5 is 1e-5).
A detection then holds off the next ones of the same series: the score only passes through when
it beats a decaying memory of the last detection, and not within `episode_hold` samples of a
score that reached the detection threshold (a score still rising over consecutive samples is the
same episode), so an episode yields one early detection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from anomaly_detector.metrics import season
from anomaly_detector.metrics.novelty import SHAPE, NoveltyBank, novelty_width, observe
from anomaly_detector.metrics.season import SeasonBank, SeasonParams

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Forecaster = Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]]

LAGS = 16
WARMUP = 200
"""Samples a series must have seen before it is scored at all."""
DETECTION_THRESHOLD = 0.5
"""The fixed score from which the service reports an anomaly (chosen in advance, not fitted)."""
NEVER = 1e9
"""`since` of a series that has not been detected yet (samples since its last detection)."""


@dataclass(frozen=True)
class Params:
    """Time constants and calibration of the scorer (per-sample rates)."""

    value_rate: float = 0.01
    error_rate: float = 0.004
    short_rate: float = 0.3
    level_rate: float = 0.002
    memory_decay: float = 0.997
    suppressed_factor: float = 0.25
    min_error_std: float = 0.25
    max_z: float = 50.0
    familiar: float = 1.0
    familiar_power: float = 3.0
    episode_hold: float = 10.0
    novelty_gate: float = 0.4
    vigilance: float = 0.1
    inst_rate: float = 0.004
    slow_rate: float = 0.02
    slow_min_std: float = 0.05
    drift_rate: float = 0.001
    record_spreads: float = 0.75
    record_hold: float = 100.0
    record_after: float = 400.0


@dataclass
class SeriesBank:
    """The state of every series, one row per series (see the module docstring)."""

    count: Floats
    lags: Floats
    mean: Floats
    var: Floats
    level_mean: Floats
    level_var: Floats
    quantum: Floats
    err_mean: Floats
    err_var: Floats
    err_short: Floats
    lvl_err_mean: Floats
    lvl_err_var: Floats
    lvl_short: Floats
    memory: Floats
    since: Floats
    resid_sq: Floats
    slow_short: Floats
    slow_mean: Floats
    slow_var: Floats
    drift_mean: Floats
    drift_var: Floats
    top: Floats
    bottom: Floats
    top_age: Floats
    bottom_age: Floats

    @classmethod
    def empty(cls, size: int = 0) -> SeriesBank:
        """A bank for `size` new series."""
        arrays = {f.name: np.zeros(size) for f in fields(cls)}
        arrays["lags"] = np.zeros((size, LAGS))
        arrays["quantum"] = np.full(size, np.inf)
        arrays["since"] = np.full(size, NEVER)
        arrays["top"] = np.full(size, -np.inf)
        arrays["bottom"] = np.full(size, np.inf)
        return cls(**arrays)

    def __len__(self) -> int:
        return len(self.count)

    def grow(self, extra: int) -> None:
        """Append `extra` fresh series."""
        new = SeriesBank.empty(extra)
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(new, f.name)]))

    def row(self, i: int) -> list[float]:
        """Series i as a flat list of floats (for persisting)."""
        out: list[float] = []
        for f in fields(self):
            out += np.atleast_1d(getattr(self, f.name)[i]).tolist()
        return out

    def set_row(self, i: int, values: list[float]) -> None:
        """Restore series i from `row` output."""
        pos = 0
        for f in fields(self):
            arr = getattr(self, f.name)
            width = LAGS if arr.ndim == 2 else 1
            arr[i] = values[pos] if width == 1 else values[pos : pos + width]
            pos += width


def row_width() -> int:
    """Number of floats in one persisted series."""
    return len(fields(SeriesBank)) - 1 + LAGS + novelty_width() + season.row_width()


@dataclass(frozen=True)
class StepResult:
    """Per sample of one step: the score and what it was compared with."""

    score: Floats
    raw: Floats
    expected: Floats
    baseline: Floats
    spread: Floats


def log_tail(z: Floats) -> Floats:
    """log of the standard normal upper tail probability (Numerical Recipes erfc, rel. 1e-7)."""
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))  # fmt: skip
    log_erfc = np.log(t) + poly
    upper = log_erfc + np.log(0.5)
    # for negative z the tail is 1 - tail(|z|)
    out: Floats = np.where(z >= 0, upper, np.log1p(-np.exp(upper)))
    return out


def surprise(z: Floats, sides: int = 1) -> Floats:
    """Map a z value to [0, 1) without saturating: d / (d + 5), d = -log10(tail probability).

    With `sides=2` the tail is two-sided (z = 0 maps to 0).
    """
    decades = np.maximum(-(log_tail(z) + np.log(sides)) / np.log(10.0), 0.0)
    out: Floats = decades / (decades + 5.0)
    return out


class Scorer:
    """Scores samples of many series in lockstep with one batched forecast per step."""

    def __init__(self, forecaster: Forecaster, params: Params | None = None) -> None:
        self.forecast = forecaster
        self.params = params or Params()
        self.bank = SeriesBank.empty()
        self.novelty = NoveltyBank.empty()
        self.season = SeasonBank.empty()
        self.season_params = SeasonParams()

    def grow(self, extra: int) -> None:
        """Make room for `extra` new series."""
        self.bank.grow(extra)
        self.novelty.grow(extra)
        self.season.grow(extra)

    def row(self, i: int) -> list[float]:
        """Everything known about series i, as floats."""
        return self.bank.row(i) + self.novelty.row(i) + self.season.row(i)

    def set_row(self, i: int, values: list[float]) -> None:
        """Restore series i from `row` output."""
        k = len(values) - novelty_width() - season.row_width()
        self.bank.set_row(i, values[:k])
        self.novelty.set_row(i, values[k : k + novelty_width()])
        self.season.set_row(i, values[k + novelty_width() :])

    def step(self, idx: Ints, values: Floats, times: Floats | None = None) -> StepResult:
        """Score one new sample for each series in `idx` (distinct indices), then learn it.

        `times` (epoch seconds) feed the seasonal score; without them it stays 0.
        """
        p, b = self.params, self.bank
        n = b.count[idx]
        mean, var, quantum = b.mean[idx], b.var[idx], b.quantum[idx]
        scale = spread_of(mean, var, quantum)
        lags = b.lags[idx]
        started = n > 0
        window = np.where(started[:, None], (lags - mean[:, None]) / scale[:, None], 0.0)
        window = np.clip(window, -p.max_z, p.max_z).astype(np.float32)
        predicted = self.forecast(window).astype(np.float64).reshape(-1)
        expected = mean + predicted * scale
        resid = np.minimum(np.abs(values - expected) / scale, p.max_z)
        err = np.log1p(resid)
        rms = np.maximum(np.sqrt(b.resid_sq[idx]), p.min_error_std)
        i_score = surprise(resid / rms)
        level_scale = spread_of(b.level_mean[idx], b.level_var[idx], quantum)
        lvl = np.log1p(np.minimum(np.abs(values - b.level_mean[idx]) / level_scale, p.max_z))

        f_short, f_score = _likelihood(
            b.err_short[idx], b.err_mean[idx], b.err_var[idx], err, p.short_rate, p.min_error_std
        )
        l_short, l_score = _likelihood(
            b.lvl_short[idx],
            b.lvl_err_mean[idx],
            b.lvl_err_var[idx],
            lvl,
            p.short_rate,
            p.min_error_std,
        )
        shape = np.concatenate([lags[:, LAGS - SHAPE + 1 :], values[:, None]], axis=1)
        shape[~started] = values[~started, None]
        floor = spread_of(mean, np.zeros_like(var), quantum)
        s_short, s_score = _likelihood(
            b.slow_short[idx], b.slow_mean[idx], b.slow_var[idx], err, p.slow_rate, p.slow_min_std
        )
        # in the largest of the short, long and slow-mean spreads (a walk's new highs: little news)
        wander = np.sqrt(np.maximum(np.maximum(b.drift_var[idx], b.level_var[idx]), 0.0))
        record = _record(values, b.bottom[idx], b.top[idx], np.maximum(scale, wander))
        low, high = self.novelty.low[idx], self.novelty.high[idx]  # all samples before this one
        nov = observe(self.novelty, idx, shape, n, floor, p.vigilance)
        n_score = np.maximum(0.0, 1.0 - 1.0 / np.maximum(nov, 1e-9))
        others = np.maximum(np.maximum(f_score, l_score), i_score)
        n_score = n_score * np.clip(others / p.novelty_gate, 0.0, 1.0)
        others = others * np.clip(nov / p.familiar, 0.0, 1.0) ** p.familiar_power
        # a sustained rise in error is news even when the values are familiar
        others = np.maximum(others, np.where(s_short > b.slow_mean[idx], s_score, 0.0))
        if times is not None:
            z_short, z_mean, z_std = season.step(
                self.season, idx, values, times, floor, scale, self.season_params
            )
            z_score = surprise((z_short - z_mean) / z_std)
            others = np.maximum(others, np.where(z_short > z_mean, z_score, 0.0))
        # a drift: the ~100-sample mean far from where that mean has been over ~1000 samples
        rate = np.maximum(1.0 / (n + 1.0), p.value_rate)
        new_mean = mean + rate * (values - mean)
        drift_std = np.maximum(np.sqrt(np.maximum(b.drift_var[idx], 0.0)), floor)
        drift_z = np.minimum(np.abs(new_mean - b.drift_mean[idx]) / drift_std, p.max_z)
        others = np.maximum(others, surprise(drift_z, sides=2))
        # a value beyond the range the series has held (0.75 spreads beyond scores 0.5)
        record = np.where(n >= p.record_after, record / (record + p.record_spreads), 0.0)
        others = np.maximum(others, record)
        raw = np.where(n >= WARMUP, np.maximum(n_score, others), 0.0)
        memory = b.memory[idx] * p.memory_decay
        rising = raw > memory
        since = b.since[idx] + 1.0  # samples since the last detection, this one included
        passes = rising & (since > p.episode_hold)
        score = np.where(passes, raw, raw * p.suppressed_factor)
        b.memory[idx] = np.where(rising, raw, memory)
        reported = rising & (raw >= DETECTION_THRESHOLD)
        b.since[idx] = np.where(reported, 0.0, since)

        # learn (after scoring: the score never saw its own sample)
        diff = np.abs(values - lags[:, -1])
        b.quantum[idx] = np.where(started & (diff > 0), np.minimum(quantum, diff), quantum)
        b.mean[idx], b.var[idx] = _ew(mean, var, values, rate)
        drate = np.maximum(1.0 / (n + 1.0), p.drift_rate)
        b.drift_mean[idx], b.drift_var[idx] = _ew(
            b.drift_mean[idx], b.drift_var[idx], new_mean, drate
        )
        lrate = np.maximum(1.0 / (n + 1.0), p.level_rate)
        b.level_mean[idx], b.level_var[idx] = _ew(
            b.level_mean[idx], b.level_var[idx], values, lrate
        )
        erate = np.maximum(1.0 / (n + 1.0), p.error_rate)
        useful = n >= LAGS  # forecasts from a partly empty window teach nothing about errors
        em, ev = _ew(b.err_mean[idx], b.err_var[idx], f_short, erate)
        b.err_mean[idx] = np.where(useful, em, b.err_mean[idx])
        b.err_var[idx] = np.where(useful, ev, b.err_var[idx])
        b.err_short[idx] = np.where(started, f_short, err)
        sm, sv = _ew(b.slow_mean[idx], b.slow_var[idx], s_short, erate)
        b.slow_mean[idx] = np.where(useful, sm, b.slow_mean[idx])
        b.slow_var[idx] = np.where(useful, sv, b.slow_var[idx])
        b.slow_short[idx] = np.where(useful, s_short, err)
        lm, lv = _ew(b.lvl_err_mean[idx], b.lvl_err_var[idx], l_short, erate)
        b.lvl_err_mean[idx], b.lvl_err_var[idx] = lm, lv
        b.lvl_short[idx] = np.where(started, l_short, lvl)
        self._hold_extremes(idx, values, low, high, reported)
        b.lags[idx] = np.concatenate([lags[:, 1:], values[:, None]], axis=1)
        b.lags[idx[~started]] = values[~started, None]
        irate = np.maximum(1.0 / (n + 1.0), p.inst_rate)
        sq = b.resid_sq[idx]
        b.resid_sq[idx] = np.where(useful, sq + irate * (resid**2 - sq), sq)
        b.count[idx] = n + 1
        return StepResult(score, raw, expected, b.level_mean[idx], scale)

    def _hold_extremes(
        self, idx: Ints, values: Floats, low: Floats, high: Floats, reported: npt.NDArray[np.bool_]
    ) -> None:
        """Age the newest extremes: one that stood `record_hold` samples, or was just reported,
        becomes established (so an excursion is reported once, not again as it goes on)."""
        b, hold = self.bank, self.params.record_hold
        top_age = np.where(values > high, 0.0, b.top_age[idx]) + 1.0
        bottom_age = np.where(values < low, 0.0, b.bottom_age[idx]) + 1.0
        top, bottom = b.top[idx], b.bottom[idx]
        settle_top = (top_age >= hold) | reported | ~np.isfinite(top)
        settle_bottom = (bottom_age >= hold) | reported | ~np.isfinite(bottom)
        b.top[idx] = np.where(settle_top, np.maximum(high, values), top)
        b.bottom[idx] = np.where(settle_bottom, np.minimum(low, values), bottom)
        b.top_age[idx], b.bottom_age[idx] = top_age, bottom_age


def spread_of(mean: Floats, var: Floats, quantum: Floats) -> Floats:
    """A spread that never collapses: std, floored by the quantum and a sliver of the level."""
    floor = np.where(np.isfinite(quantum), quantum, 1e-3 * np.maximum(np.abs(mean), 1.0))
    return np.maximum(np.sqrt(np.maximum(var, 0.0)), np.maximum(floor, 1e-9))


def _ew(mean: Floats, var: Floats, x: Floats, rate: Floats) -> tuple[Floats, Floats]:
    delta = x - mean
    new_mean = mean + rate * delta
    new_var = (1.0 - rate) * (var + rate * delta * delta)
    return new_mean, new_var


def _record(values: Floats, low: Floats, high: Floats, scale: Floats) -> Floats:
    """How far each value lies beyond [low, high], in spreads (0 inside it or while unknown)."""
    beyond = np.maximum(np.maximum(values - high, low - values), 0.0)
    out: Floats = np.where(np.isfinite(beyond), beyond / scale, 0.0)
    return out


def _likelihood(
    short: Floats, mean: Floats, var: Floats, err: Floats, rate: float, min_std: float
) -> tuple[Floats, Floats]:
    new_short = short + rate * (err - short)
    std = np.maximum(np.sqrt(np.maximum(var, 0.0)), min_std)
    z = (new_short - mean) / std
    return new_short, surprise(z)
