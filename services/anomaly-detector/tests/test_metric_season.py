"""The seasonal score: a value ordinary at noon but not at night is news once hours are known."""

from __future__ import annotations

import numpy as np

from anomaly_detector.metrics.examples import last_value
from anomaly_detector.metrics.scoring import DETECTION_THRESHOLD, Scorer
from anomaly_detector.metrics.season import SeasonBank, week_bin

HOUR = 3600.0


def daily(days: int, stuck_from: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hourly samples: 10 from 08:00 to 20:00, 0 at night, small noise; from hour `stuck_from`
    on the series stays at its daytime level through the night."""
    hours = np.arange(days * 24)
    rng = np.random.default_rng(1)
    values = np.where((hours % 24 >= 8) & (hours % 24 < 20), 10.0, 0.0) + rng.normal(
        0, 0.3, len(hours)
    )
    if stuck_from is not None:
        values[stuck_from:] = 10.0 + rng.normal(0, 0.3, len(hours) - stuck_from)
    return hours * HOUR, values


def run(times: np.ndarray, values: np.ndarray, with_times: bool) -> np.ndarray:
    scorer = Scorer(last_value)
    scorer.grow(1)
    idx = np.zeros(1, dtype=np.int64)
    out = [
        scorer.step(idx, np.array([v]), np.array([t]) if with_times else None).score[0]
        for t, v in zip(times, values, strict=True)
    ]
    return np.array(out)


def test_the_daytime_level_through_the_night_is_detected_only_with_timestamps() -> None:
    stuck = 35 * 24 + 20  # day 35, 20:00: the evening drop does not come
    times, values = daily(37, stuck_from=stuck)
    seasonal = run(times, values, with_times=True)
    plain = run(times, values, with_times=False)
    night = slice(stuck, stuck + 12)
    assert seasonal[night].max() >= DETECTION_THRESHOLD
    assert plain[night].max() < DETECTION_THRESHOLD  # no single step shows it
    assert np.count_nonzero(seasonal[14 * 24 : stuck] >= DETECTION_THRESHOLD) <= 2  # rare alarms


def test_week_bins_follow_the_sample_time_and_a_new_bank_grows_empty() -> None:
    assert week_bin(np.array([0.0, HOUR * 25.5, HOUR * 168])).tolist() == [0, 25, 0]
    bank = SeasonBank.empty(2)
    bank.grow(3)
    assert bank.mean.shape == (5, 168) and bank.short.shape == (5,)
