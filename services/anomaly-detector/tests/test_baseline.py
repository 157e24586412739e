"""The seasonal baseline folds quiet hours in lazily, in closed form: the same as hour by hour."""

from __future__ import annotations

import random

import pytest

from anomaly_detector.domain.baseline import DAY, WEEK, SeasonalBaseline, occurrences
from anomaly_detector.domain.window import RateWindow

ALPHAS = {"weekly": 0.3, "daily": 0.1, "overall": 0.01}


def _naive(counts: dict[int, float], first: int, hour: int) -> dict[str, tuple[float, int]]:
    """Every hour from `first` to `hour - 1` folded one by one (zeros included)."""
    levels = {"weekly": (WEEK, {}), "daily": (DAY, {}), "overall": (1, {})}
    for h in range(first, hour):
        for name, (period, slots) in levels.items():
            mean, n = slots.get(h % period, (0.0, 0))
            n += 1
            step = max(1.0 / n, ALPHAS[name])
            slots[h % period] = (mean + step * (counts.get(h, 0.0) - mean), n)
    return {name: slots.get(hour % period, (0.0, 0)) for name, (period, slots) in levels.items()}


@pytest.mark.parametrize("seed", range(5))
def test_lazy_folding_equals_folding_every_hour(seed: int) -> None:
    rng = random.Random(seed)
    first = 500_000 + rng.randrange(WEEK)
    active = sorted({first, *(first + rng.randrange(6 * WEEK) for _ in range(60))})
    counts = {h: float(rng.randrange(1, 40)) for h in active}
    baseline = SeasonalBaseline(ALPHAS["daily"], ALPHAS["weekly"], ALPHAS["overall"])
    for h in active:
        baseline.roll(h, cap=1e9)
        for _ in range(int(counts[h])):
            baseline.add(h)
    now = active[-1] + 1 + rng.randrange(3 * WEEK)
    baseline.roll(now, cap=1e9)
    expected = _naive(counts, first, now)
    e = baseline.expect(now, prior=1.0, shrink=2.0)
    assert e.weekly == pytest.approx(expected["weekly"][0], rel=1e-9, abs=1e-12)
    assert e.daily == pytest.approx(expected["daily"][0], rel=1e-9, abs=1e-12)
    assert e.overall == pytest.approx(expected["overall"][0], rel=1e-9, abs=1e-12)
    assert (e.weeks, e.days, e.hours) == tuple(
        expected[k][1] for k in ("weekly", "daily", "overall")
    )


def test_a_new_signature_expects_the_prior_and_a_quiet_one_forgets_it() -> None:
    baseline = SeasonalBaseline(0.1, 0.3, 0.01)
    assert baseline.expect(1000, prior=1.0, shrink=2.0).per_hour == 1.0
    baseline.add(1000)
    baseline.roll(1000 + 2 * WEEK + 5, cap=10)
    assert baseline.expect(1000 + 2 * WEEK + 5, prior=1.0, shrink=2.0).per_hour < 0.1
    # the hour of the week it alerted in remembers it: one alert in three such hours
    same_hour = baseline.expect(1000 + 3 * WEEK, prior=1.0, shrink=2.0)
    assert same_hour.weekly == pytest.approx(1 / 3) and same_hour.weeks == 3


def test_occurrences_counts_hours_of_a_slot() -> None:
    assert occurrences(0, 24, 5, DAY) == 1
    assert occurrences(6, 24 * 3, 5, DAY) == 2
    assert occurrences(10, 10, 3, DAY) == 0


def test_window_counts_only_the_last_window_and_says_when_it_falls_below() -> None:
    window = RateWindow(10.0, 6)  # one minute in 10 s buckets
    for t in (0.0, 1.0, 15.0, 31.0, 32.0):
        window.add(t)
    assert window.total == 5
    assert window.add(-100.0) is False, "older than the window"
    window.advance(65.0)  # the first bucket (0-10 s) left the window
    assert window.total == 3
    assert window.falls_below(2) == 90.0  # 31 and 32 s leave with the 30-40 s bucket at 90 s
    assert window.falls_below(4) == 60.0, "already below"
