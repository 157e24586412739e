"""Alert storms: one anomaly per storm, started and ended, against a seasonal baseline."""

from __future__ import annotations

from collections.abc import Callable

from anomaly_detector.domain.detector import AlertDetectors

T0 = 1_800_000_000.0  # Friday 2027-01-15 08:00 UTC
HOUR = 3600.0
DAY = 86400.0


def test_storm_starts_once_and_ends_when_the_window_empties(stream) -> None:
    stream.burst(60, T0, every=2.0)  # 60 new alerts in 2 minutes, a never-seen signature

    [started] = stream.of("alert_storm")
    assert started.phase == "started"
    assert started.evidence["observed"] == "10 new firings in the last 5m"
    assert started.evidence["expected"] == "0.0833 in 5m"  # the prior: 1 an hour
    assert started.window_start == T0
    assert len(started.members) == 10
    assert 0.5 < started.score <= 1.0
    assert stream.tick(T0 + 300) == []  # the storm's last alerts are still in the window

    [ended] = stream.tick(T0 + 1000)
    assert (ended.kind, ended.phase, ended.key) == ("alert_storm", "ended", started.key)
    assert ended.evidence["total"] == "60"
    # 5 firings in T0+110..118; the window (5 min, 10 s buckets) drops that bucket at T0+410
    assert ended.window_end == T0 + 410
    assert len(ended.members) == 60
    assert stream.tick(T0 + 2000) == []


def test_end_is_the_same_whether_a_tick_or_a_later_firing_notices_it(stream, make_stream) -> None:
    stream.burst(30, T0)
    [by_tick] = [f for f in stream.tick(T0 + 3000) if f.phase == "ended"]

    other = make_stream()
    other.burst(30, T0)
    other.fire("late", T0 + 3000)  # no tick in between: the firing closes the old storm first
    [by_event] = other.of("alert_storm", "ended")
    assert (by_event.key, by_event.window_end) == (by_tick.key, by_tick.window_end)


def test_a_second_storm_after_the_end_is_a_new_anomaly(stream) -> None:
    stream.burst(20, T0)
    stream.tick(T0 + 1000)
    stream.burst(20, T0 + 2000)
    first, second = stream.of("alert_storm", "started")
    assert first.key != second.key
    assert len(stream.of("alert_storm", "ended")) == 1


def test_few_alerts_are_no_storm(stream) -> None:
    stream.burst(9, T0, every=20.0)
    assert stream.of("alert_storm") == []


def test_resends_of_the_same_firing_count_once(stream) -> None:
    for _ in range(50):
        stream.fire("same-alert", T0)  # Alertmanager re-sends a firing group: same startsAt
    assert stream.of("alert_storm") == []
    assert len(stream.of("rare_signature")) == 1


def _daily_batch_job(stream, days: int) -> None:
    """120 alerts spread over 09:00-10:00 UTC every day (a noisy nightly report, say)."""
    nine = T0 + HOUR  # 09:00 on day 0
    for day in range(days):
        for i in range(120):
            stream.fire(f"job-{day}-{i}", nine + day * DAY + i * 30.0, pod=f"p{i}")


def test_baseline_learns_daily_seasonality(make_stream) -> None:
    stream = make_stream()
    _daily_batch_job(stream, days=14)
    [first_day] = stream.of("alert_storm", "started")  # new: a storm only on the first day
    assert first_day.window_start < T0 + DAY
    usual_hour = T0 + HOUR + 14 * DAY
    stream.burst(12, usual_hour, every=25.0)  # the usual 2 a minute, at the usual hour
    assert len(stream.of("alert_storm", "started")) == 1

    unusual_hour = T0 + 7 * HOUR + 14 * DAY  # 15:00: this signature is quiet then
    stream.burst(12, unusual_hour, every=25.0)
    [_, storm] = stream.of("alert_storm", "started")
    assert storm.window_start == unusual_hour
    assert "this hour of the day" in storm.evidence["baseline"]
    assert float(storm.evidence["baseline_per_hour"]) < 1.0


def test_the_hour_of_the_day_expectation_is_in_the_evidence(make_stream) -> None:
    stream = make_stream()
    _daily_batch_job(stream, days=14)
    stream.burst(60, T0 + HOUR + 14 * DAY + 1800, every=1.0)  # 60 in a minute at 09:30
    [_, storm] = stream.of("alert_storm", "started")
    # the 09:00 slot learnt about 120 an hour, so 5 minutes expect about 10
    assert 8.0 < float(storm.evidence["expected"].split()[0]) < 11.0
    assert storm.evidence["baseline"].startswith("Fri 09:00 UTC")


def test_state_round_trip_keeps_an_open_storm(stream, params) -> None:
    stream.burst(20, T0)
    state = dict(stream.detectors.changes())
    restarted = AlertDetectors(params)
    for key, value in state.items():
        restarted.restore(key, value)
    restarted.reindex()

    more = [
        f
        for i in range(20)
        for f in restarted.on_alert(f"x{i}", True, _labels(), T0 + 45 + i, None)
    ]
    assert [f for f in more if f.kind == "alert_storm"] == [], "no second start"
    [ended] = restarted.tick(T0 + 2000)
    [started] = stream.of("alert_storm", "started")
    assert (ended.phase, ended.key) == ("ended", started.key)
    assert ended.evidence["total"] == "40"


def test_memory_is_bounded_and_evictions_are_deleted_from_state(
    make_stream: Callable[..., object],
) -> None:
    stream = make_stream(limits={"signatures": 10, "fingerprints": 20, "rare_signatures": 10})
    for i in range(100):
        stream.fire(f"fp{i}", T0 + i, alertname=f"Alert{i}")
    detectors = stream.detectors
    assert (len(detectors.sigs), len(detectors.fps), len(detectors.rares)) == (10, 20, 10)
    changes = dict(detectors.changes())
    deleted = {k for k, v in changes.items() if v is None}
    assert "f|fp0" in deleted and "f|fp99" not in deleted
    assert sum(1 for k, v in changes.items() if k.startswith("s|") and v is not None) == 10


def _labels() -> dict[str, str]:
    return {"alertname": "HighLatency", "service": "api", "namespace": "shop"}
