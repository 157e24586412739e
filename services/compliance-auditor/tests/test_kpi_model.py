"""KPI periods, durations and ratios (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from compliance_auditor.kpis.model import Durations, GroupKpis, Period, PeriodError


def test_a_month_a_quarter_and_a_year_are_half_open_utc_intervals() -> None:
    november = Period.parse("2026-11")
    assert (november.start, november.end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert november.days == 30
    q4 = Period.parse("2026-Q4")
    assert (q4.start.month, q4.end) == (10, datetime(2027, 1, 1, tzinfo=UTC))
    assert Period.parse("2026").days == 365


@pytest.mark.parametrize("text", ["2026-13", "11/2026", "2026-Q5", ""])
def test_unreadable_periods_are_refused_with_the_expected_forms(text: str) -> None:
    with pytest.raises(PeriodError, match="period"):
        Period.parse(text)


def test_an_explicit_interval_needs_zones_and_order() -> None:
    with pytest.raises(PeriodError, match="time zone"):
        Period.between(datetime(2026, 11, 1), datetime(2026, 11, 2))
    with pytest.raises(PeriodError, match="before"):
        Period.between(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def test_durations_mean_median_and_p90() -> None:
    d = Durations.of([600.0, 1800.0, 3600.0, 7200.0, 10800.0, 14400.0])
    assert d.count == 6
    assert d.mean_seconds == 6400.0
    assert d.median_seconds == 5400.0
    assert d.p90_seconds == pytest.approx(12600.0)
    assert Durations.of([]).mean_seconds is None


def test_ratios_are_absent_rather_than_zero_when_nothing_was_counted() -> None:
    november = Period.parse("2026-11")
    empty = GroupKpis("shop", "production").finish(november)
    assert (empty.change_failure_rate, empty.noise_reduction, empty.auto_success_rate) == (
        None,
        None,
        None,
    )
    busy = GroupKpis(
        "shop",
        "production",
        deployments=10,
        failed_deployments=3,
        alerts=50,
        incidents=5,
        changes=12,
        violations=3,
    ).finish(november)
    assert busy.change_failure_rate == 0.3
    assert busy.noise_reduction == 0.9
    assert busy.violations_per_change == 0.25
    assert busy.deployments_per_day == pytest.approx(1 / 3)
