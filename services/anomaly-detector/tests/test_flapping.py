"""Flapping (fire/resolve cycles of one alert) and transient (self-resolving) alerts."""

from __future__ import annotations

T0 = 1_800_000_000.0
MIN = 60.0


def _cycles(stream, fingerprint: str, n: int, start: float, every: float, lasting: float) -> None:
    for i in range(n):
        began = start + i * every
        stream.fire(fingerprint, began)
        stream.resolve(fingerprint, began, began + lasting)


def test_three_fire_resolve_cycles_in_an_hour_are_one_flapping_episode(stream) -> None:
    _cycles(stream, "fp-flappy", 6, T0, every=10 * MIN, lasting=6 * MIN)

    [started] = stream.of("flapping")
    assert started.phase == "started"
    assert started.members == ["fp-flappy"]
    assert started.window_start == T0 and started.window_end == T0 + 20 * MIN
    assert started.evidence["page"] == "false"
    assert started.evidence["observed"] == "3 new firings in 20m"

    assert stream.tick(T0 + 50 * MIN + 59 * MIN) == []  # last firing at +50m, quiet for 1h
    [ended] = stream.tick(T0 + 50 * MIN + 60 * MIN)
    assert (ended.phase, ended.key) == ("ended", started.key)
    assert ended.evidence["total_firings"] == "6"
    assert ended.window_end == T0 + 110 * MIN


def test_cycles_spread_wider_than_the_window_are_not_flapping(stream) -> None:
    _cycles(stream, "fp-slow", 5, T0, every=40 * MIN, lasting=10 * MIN)
    assert stream.of("flapping") == []


def test_resends_of_one_firing_are_not_cycles(stream) -> None:
    for i in range(10):
        stream.fire("fp-steady", T0)  # re-sent every group_interval with the same startsAt
        stream.tick(T0 + i * MIN)
    assert stream.of("flapping") == []


def test_alert_resolving_by_itself_within_minutes_is_transient_and_need_not_page(stream) -> None:
    stream.fire("fp-blip", T0)
    [transient] = stream.resolve("fp-blip", T0, T0 + 90)
    assert transient.kind == "transient"
    assert transient.evidence["page"] == "false"
    assert transient.evidence["resolved_after"] == "90s"
    assert (transient.window_start, transient.window_end) == (T0, T0 + 90)
    assert transient.score < 0.5
    assert stream.resolve("fp-blip", T0, T0 + 90) == [], "a re-sent resolve says nothing new"


def test_alert_resolving_after_a_long_time_is_not_transient(stream) -> None:
    stream.fire("fp-real", T0)
    assert stream.resolve("fp-real", T0, T0 + 30 * MIN) == []


def test_flapping_alert_is_not_also_reported_transient_each_cycle(stream) -> None:
    _cycles(stream, "fp-flappy", 6, T0, every=5 * MIN, lasting=1 * MIN)
    assert len(stream.of("transient")) == 1  # the first cycle, before it was known to flap
    assert len(stream.of("flapping", "started")) == 1


def test_one_transient_report_per_signature_an_hour_then_the_count_held_back(stream) -> None:
    for i in range(4):  # four blips of one signature (different pods) within the hour
        stream.fire(f"blip-{i}", T0 + i * 10 * MIN, pod=f"p{i}")
        stream.resolve(f"blip-{i}", T0 + i * 10 * MIN, T0 + i * 10 * MIN + 60, pod=f"p{i}")
    stream.fire("blip-late", T0 + 70 * MIN, pod="p9")
    stream.resolve("blip-late", T0 + 70 * MIN, T0 + 71 * MIN, pod="p9")
    first, later = stream.of("transient")
    assert first.members == ["blip-0"] and first.evidence["not_reported_since_last"] == "0"
    assert later.members == ["blip-late"] and later.evidence["not_reported_since_last"] == "3"


def test_alerts_of_a_storm_that_resolve_quickly_are_counted_by_the_storm(stream) -> None:
    stream.burst(20, T0, every=3.0)
    for i in range(20):
        began = T0 + i * 3.0
        stream.resolve(f"HighLatency-{T0}-{i}", began, began + 120, pod=f"pod-{i}")
    assert stream.of("transient") == []
    [ended] = stream.tick(T0 + 3600)
    assert ended.evidence["resolved_by_themselves"] == "20"
