"""The metric handler's batch work: same scores as MetricDetector, episodes, state bytes."""

from __future__ import annotations

import math
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np

from anomaly_detector.metrics.detector import MetricDetector, Sample, Scored
from anomaly_detector.metrics.examples import LABELS, T0, last_value, noisy, samples_event
from anomaly_detector.metrics.handler import MetricHandler, MetricRules
from anomaly_detector.metrics.replay import series_key
from anomaly_detector.metrics.scoring import WARMUP, Scorer
from anomaly_detector.metrics.series_state import HEADER, Header, SeriesCodec, array_fields, rounds
from cc.events import (
    AnomalyDetected,
    MetricSample,
    MetricSamplesReceived,
    MetricSeries,
    new_metadata,
)
from cc.kafka.state import MemoryStateStore
from cc.testing.events import received


def event(*series: tuple[dict[str, str], list[tuple[int, float]]]) -> MetricSamplesReceived:
    """One remote_write batch: per series its labels and (minute, value) samples."""
    return MetricSamplesReceived(
        metadata=new_metadata("ingestor", occurred_at=T0),
        series=[
            MetricSeries(
                name="cpu",
                labels=labels,
                samples=[
                    MetricSample(timestamp=T0 + timedelta(minutes=m), value=v) for m, v in samples
                ],
            )
            for labels, samples in series
        ],
    )


def test_rounds_hold_the_kth_sample_of_each_series_in_order() -> None:
    rows = np.array([3, 1, 3, 3, 0, 1], dtype=np.int64)
    assert [r.tolist() for r in rounds(rows)] == [[0, 1, 4], [2, 5], [3]]
    assert rounds(np.array([], dtype=np.int64)) == []


def test_the_handler_scores_exactly_as_the_detector_does() -> None:
    """Several series per event, several samples per series, replays, NaN, labels reordered."""
    rng = np.random.default_rng(5)
    a = {"job": "a", "namespace": "shop"}
    b = {"namespace": "shop", "job": "b"}
    b_reordered = {"job": "b", "namespace": "shop"}
    handler = MetricHandler(MemoryStateStore(), last_value, "m")
    reference = MetricDetector(last_value)
    minute = 0
    for batch in range(40):
        events: list[MetricSamplesReceived] = []
        for _ in range(3):
            ticks = [minute + i for i in range(4)]
            minute += 4
            va = [(m, float(v)) for m, v in zip(ticks, rng.normal(50, 2, 4), strict=True)]
            vb = [(m, float(v)) for m, v in zip(ticks, rng.normal(9, 1, 4), strict=True)]
            if batch % 7 == 3:
                vb[1] = (vb[1][0], math.nan)
                va.append(va[0])  # a replay inside the event
            if batch == 30:
                va[2] = (va[2][0], 500.0)
            events.append(event((a, va), (b if batch % 2 else b_reordered, vb)))
        if batch % 5 == 4:
            events.append(events[0])  # a redelivered event
        items = [received(e) for e in events]
        first: dict[tuple[str, float], Scored] = {}
        for s in reference.score(
            [
                Sample(series_key(ser.name, ser.labels), x.timestamp.timestamp(), x.value)
                for e in events
                for ser in e.series
                for x in ser.samples
            ]
        ):
            first.setdefault((s.sample.key, s.sample.timestamp), s)  # later ones are replays
        expected = {k: s for k, s in first.items() if math.isfinite(s.sample.value)}
        gathered = handler.gather(items)
        score, expect, baseline, spread = handler.score(gathered)
        got = {
            (handler.keys[r], t): (s, e, bl, sp)
            for r, t, s, e, bl, sp in zip(
                gathered.rows.tolist(), gathered.times, score, expect, baseline, spread, strict=True
            )
        }
        assert got.keys() == expected.keys()
        for k, (s, e, bl, sp) in got.items():
            ref = expected[k]
            assert (s, e, bl, sp) == (ref.score, ref.expected, ref.baseline, ref.spread)
    assert len(handler.keys) == 2  # "b" under both label orders is one series


def hot_above_50(h: MetricHandler) -> None:
    """Make the handler's scorer call every value above 50 anomalous (to test episodes alone)."""

    def step(idx: Any, values: Any, times: Any = None) -> Any:
        ones = np.ones(len(idx))
        return SimpleNamespace(
            score=(values > 50).astype(float), expected=10 * ones, baseline=10 * ones, spread=ones
        )

    h.scorer.step = step  # type: ignore[method-assign]


def feed(h: MetricHandler, values: dict[int, float]) -> list[str]:
    """Samples at the given minutes; the start times of the episodes reported."""
    out = [o.event for o in h([received(event((LABELS, sorted(values.items()))))])]
    return [o.window_start.strftime("%H:%M") for o in out if isinstance(o, AnomalyDetected)]


def test_an_episode_ends_after_the_gap_and_survives_a_restart_within_it() -> None:
    store = MemoryStateStore()
    h = MetricHandler(store, last_value, "m", MetricRules(threshold=0.5, episode_gap_s=1800))
    hot_above_50(h)
    assert feed(h, {m: 1.0 for m in range(10)} | {10: 99.0, 11: 99.0}) == ["11:10"]
    assert feed(h, {12: 1.0, 30: 1.0, 40: 99.0}) == []  # 29 minutes after: the same episode
    restarted = MetricHandler(MemoryStateStore(dict(store.items())), last_value, "m")
    hot_above_50(restarted)
    assert feed(restarted, {41: 99.0, 60: 1.0}) == []
    assert feed(restarted, {72: 99.0, 73: 99.0}) == ["12:12"]  # 31 quiet minutes: a new one
    assert feed(restarted, {72: 99.0, 74: 1.0}) == []  # the replayed sample is ignored


def trained_scorer(series: int = 3, samples: int = WARMUP + 20) -> Scorer:
    scorer = Scorer(last_value)
    scorer.grow(series + 2)
    rng = np.random.default_rng(9)
    for k in range(samples):
        times = np.full(series, 600.0 * k)  # ten-minute samples: the seasonal bins fill too
        scorer.step(np.arange(series, dtype=np.int64), rng.normal(100, 5, series), times)
    return scorer


def test_series_state_round_trips_into_another_scorer() -> None:
    scorer = trained_scorer()
    codec = SeriesCodec(scorer)
    assert codec.fields is not None  # the fast path: every bank is arrays per series
    heads = [Header(float(i), 2.0 * i, 3.0 * i) for i in range(3)]
    blobs = codec.encode(np.arange(3, dtype=np.int64), heads)
    other = Scorer(last_value)
    other.grow(8)
    again = SeriesCodec(other)
    for i, blob in enumerate(blobs):
        assert again.restore(5 - i, blob) == heads[i]
    for i in range(3):
        assert other.row(5 - i) == scorer.row(i)
    values = np.array([100.0, 180.0, 95.0])
    times = np.full(3, 600.0 * (WARMUP + 20))
    ours = scorer.step(np.arange(3, dtype=np.int64), values, times)
    theirs = other.step(np.array([5, 4, 3], dtype=np.int64), values, times)
    assert ours.score.tolist() == theirs.score.tolist()


def test_state_of_another_layout_or_format_is_ignored() -> None:
    scorer = trained_scorer()
    codec = SeriesCodec(scorer)
    [blob] = codec.encode(np.array([0], dtype=np.int64), [Header(1.0, 0.0, 0.0)])
    before = scorer.row(4)
    assert codec.restore(4, b"\x01" + blob[1:]) is None  # another format
    assert codec.restore(4, blob[:1] + b"\0\0\0\0" + blob[5:]) is None  # another layout
    assert codec.restore(4, blob[:-8]) is None  # truncated
    assert codec.restore(4, b"") is None
    assert scorer.row(4) == before


def test_state_outside_the_banks_falls_back_to_the_scorers_own_rows() -> None:
    scorer = trained_scorer()
    scorer.extra = np.zeros(3)  # type: ignore[attr-defined]  # state the codec cannot see
    assert array_fields(scorer) is None
    codec = SeriesCodec(scorer)
    [blob] = codec.encode(np.array([1], dtype=np.int64), [Header(7.0, 0.0, 0.0)])
    other = trained_scorer(samples=5)
    other.extra = np.zeros(3)  # type: ignore[attr-defined]
    assert SeriesCodec(other).restore(4, blob) == Header(7.0, 0.0, 0.0)
    assert other.row(4) == scorer.row(1)


def test_state_written_by_the_handler_restores_the_series_exactly() -> None:
    store = MemoryStateStore()
    h = MetricHandler(store, last_value, "m")
    values = noisy(WARMUP + 40, seed=3)
    h([received(samples_event([float(v) for v in values]))])
    [(key, blob)] = list(store.items())
    assert len(blob) < 8192  # most of it the seasonal profile: 3 x 168 float64 per series
    restarted = MetricHandler(MemoryStateStore({key: blob}), last_value, "m")
    restarted([received(samples_event([float(values[-1])], start=len(values) - 1))])  # a replay
    assert restarted.scorer.row(0) == h.scorer.row(0)
    assert restarted.last_seen == h.last_seen


def written(store: MemoryStateStore) -> int:
    """How many keys were put since the last call."""
    store.flush()
    count = len(store.flushed)
    store.flushed.clear()
    return count


def test_state_is_written_every_checkpoint_interval_and_at_once_for_episodes() -> None:
    store = MemoryStateStore()
    h = MetricHandler(store, last_value, "m", MetricRules(checkpoint_s=300))
    hot_above_50(h)
    writes = []
    for minute in range(12):
        feed(h, {minute: 99.0 if minute in (7, 8) else 1.0})
        writes.append(written(store))
    # first sight, five minutes later, the anomalous samples, five minutes after the last write
    assert writes == [1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0]
    assert feed(h, {13: 1.0}) == [] and written(store) == 1


def test_a_restart_from_a_checkpoint_older_than_the_last_samples_reports_nothing_twice() -> None:
    store = MemoryStateStore()
    h = MetricHandler(store, last_value, "m", MetricRules(checkpoint_s=300))
    hot_above_50(h)
    assert feed(h, {0: 1.0, 1: 1.0}) == []
    assert feed(h, {2: 99.0}) == ["11:02"]
    assert feed(h, {3: 1.0, 4: 1.0}) == []  # not written: the store holds minute 2
    [(_, blob)] = store.items()
    assert HEADER.unpack_from(blob)[2] == (T0 + timedelta(minutes=2)).timestamp()
    restarted = MetricHandler(MemoryStateStore(dict(store.items())), last_value, "m")
    hot_above_50(restarted)
    assert feed(restarted, {2: 99.0, 3: 1.0, 4: 99.0}) == []  # redelivered; the same episode
    assert restarted.last_seen == [(T0 + timedelta(minutes=4)).timestamp()]
