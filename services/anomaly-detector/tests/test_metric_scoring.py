"""The streaming scorer: calibrated, strictly streaming, robust on flat series, batched."""

from __future__ import annotations

import numpy as np

from anomaly_detector.metrics.detector import MetricDetector, Sample
from anomaly_detector.metrics.examples import last_value, noisy
from anomaly_detector.metrics.scoring import DETECTION_THRESHOLD, WARMUP, Params


def scores(values: list[float] | np.ndarray, key: str = "s") -> np.ndarray:
    detector = MetricDetector(last_value)
    out = [detector.score([Sample(key, float(i), float(v))])[0].score for i, v in enumerate(values)]
    return np.array(out)


def test_a_spike_in_noise_scores_above_the_threshold_and_quiet_noise_below() -> None:
    series = noisy(600)
    series[500] += 12.0
    s = scores(series)
    assert s[500] >= DETECTION_THRESHOLD
    assert np.count_nonzero(s[:500] >= DETECTION_THRESHOLD) <= 1  # a rare false alarm at most
    assert s[:WARMUP].max() == 0.0  # nothing is scored while the series is being learned


def test_a_level_shift_is_detected_once_not_on_every_following_sample() -> None:
    series = noisy(900)
    series[500:] += 10.0
    s = scores(series)
    detections = np.nonzero(s >= DETECTION_THRESHOLD)[0]
    assert 500 in detections
    assert detections.max() == 500  # not again while the series stays at its new level
    assert np.count_nonzero(detections < 500) <= 1


def test_constant_and_quantised_series_give_finite_scores_without_blowing_up() -> None:
    flat = [5.0] * 300 + [5.0, 6.0, 5.0] * 100 + [0.0] * 100
    s = scores(flat)
    assert np.all(np.isfinite(s))
    assert np.all((s >= 0.0) & (s <= 1.0))
    assert s[:300].max() == 0.0  # nothing surprising while constant
    assert s[301] >= DETECTION_THRESHOLD  # the first change after a long flat stretch


def test_scores_do_not_depend_on_later_samples() -> None:
    series = noisy(400, seed=3)
    full = scores(series)
    prefix = scores(series[:250])
    assert np.array_equal(full[:250], prefix)


def test_scoring_series_together_in_one_batch_equals_scoring_them_alone() -> None:
    a, b = noisy(300, seed=4), noisy(300, seed=5, level=3.0)
    b[200] += 9.0
    together = MetricDetector(last_value)
    mixed = []
    for i in range(300):
        pair = together.score([Sample("a", float(i), a[i]), Sample("b", float(i), b[i])])
        mixed.append((pair[0].score, pair[1].score))
    assert np.allclose([m[0] for m in mixed], scores(a, "a"))
    assert np.allclose([m[1] for m in mixed], scores(b, "b"))


def test_several_samples_of_one_series_in_a_batch_are_scored_in_order() -> None:
    series = noisy(300, seed=6)
    detector = MetricDetector(last_value)
    batched = [
        r.score
        for chunk in range(0, 300, 50)
        for r in detector.score(
            [Sample("s", float(i), series[i]) for i in range(chunk, chunk + 50)]
        )
    ]
    assert np.allclose(batched, scores(series))


def test_state_dumped_and_restored_continues_exactly() -> None:
    series = noisy(400, seed=7)
    series[350] += 8.0
    first = MetricDetector(last_value)
    for i in range(300):
        first.score([Sample("s", float(i), series[i])])
    second = MetricDetector(last_value)
    assert second.restore("s", first.dump("s"))
    rest = [Sample("s", float(i), series[i]) for i in range(300, 400)]
    assert [r.score for r in second.score(rest)] == [r.score for r in first.score(rest)]


def test_a_replayed_sample_is_neither_scored_nor_learned() -> None:
    detector = MetricDetector(last_value)
    for i in range(100):
        detector.score([Sample("s", float(i), 1.0 + (i % 3))])
    before = detector.dump("s")
    [again] = detector.score([Sample("s", 50.0, 1000.0)])
    assert again.score == 0.0
    assert detector.dump("s") == before


def test_familiar_values_in_an_unusual_order_raise_the_score_through_the_slow_error() -> None:
    rng = np.random.default_rng(4)
    regular = np.tile([0.0] * 4 + [10.0] * 4, 125)  # switches every fourth sample
    jumbled = rng.choice([0.0, 10.0], 300)  # the same two values, switching twice as often
    s = scores(np.concatenate([regular, jumbled]) + rng.normal(0.0, 0.1, 1300))
    assert s[1000:].max() >= 0.35  # each value and step is familiar; the error rate is not
    assert s[600:1000].max() < 0.15


def held_scores(values: np.ndarray, params: Params) -> np.ndarray:
    detector = MetricDetector(last_value, params)
    return np.array(
        [detector.score([Sample("s", float(i), float(v))])[0].score for i, v in enumerate(values)]
    )


def test_a_score_rising_over_consecutive_samples_is_one_episode_not_one_detection_each() -> None:
    series = noisy(800, seed=8)
    series[500:506] += np.array([5.0, 12.0, 22.0, 35.0, 52.0, 75.0])  # a burst that keeps growing
    series[700] += 60.0  # a bigger, later, separate anomaly
    held = held_scores(series, Params())
    unheld = held_scores(series, Params(episode_hold=0.0))
    burst = np.nonzero(held[495:520] >= DETECTION_THRESHOLD)[0]
    assert len(burst) == 1  # one detection for the whole burst
    assert np.count_nonzero(unheld[495:520] >= DETECTION_THRESHOLD) > 1  # what the hold prevents
    assert held[700] >= DETECTION_THRESHOLD  # after the hold a new episode is reported


def test_a_spike_the_series_shows_every_day_stops_being_news() -> None:
    series = noisy(1200, seed=9)
    series[60::60] += 15.0  # the same spike every 60 samples
    s = scores(series)
    assert s[WARMUP:][series[WARMUP:] > 110.0].max() < DETECTION_THRESHOLD
    series[1110] += 40.0  # a spike of a new size is still news
    assert scores(series)[1110] >= DETECTION_THRESHOLD


def test_a_slow_drift_no_single_step_shows_is_detected_within_a_few_hundred_samples() -> None:
    series = noisy(1600, seed=10)
    series[1000:] += np.minimum(np.arange(600) * 0.02, 6.0)  # 0.02 standard deviations a sample
    detections = np.nonzero(scores(series) >= DETECTION_THRESHOLD)[0]
    assert len(detections) > 0 and 1000 <= detections[0] < 1200
    assert not np.any(detections < 1000)


def test_a_value_beyond_all_the_series_has_shown_is_news_though_the_step_is_ordinary() -> None:
    series = np.clip(noisy(600, seed=13), 97.5, 102.5)  # its range is reached early
    series[549] = 101.5
    series[550] = 103.5  # one spread above anything before, two above the previous sample
    with_record = held_scores(series, Params())
    without = held_scores(series, Params(record_spreads=1e9))
    assert with_record[550] >= DETECTION_THRESHOLD
    assert without[550] < DETECTION_THRESHOLD  # forecast, shape and level alone see little
    assert np.count_nonzero(with_record[:549] >= DETECTION_THRESHOLD) == 0


def test_a_slide_below_the_range_held_is_caught_early_by_the_record() -> None:
    series = np.clip(noisy(1000, seed=14), 97.5, 102.5)
    series[800:900] -= np.linspace(0.0, 5.0, 100)  # slides to 2.5 spreads below anything before
    with_record = np.nonzero(held_scores(series, Params()) >= DETECTION_THRESHOLD)[0]
    without = np.nonzero(held_scores(series, Params(record_spreads=1e9)) >= DETECTION_THRESHOLD)[0]
    assert 800 <= with_record[0] < 830  # once about 0.6 spreads below where the range was held
    assert without[0] > with_record[0] + 10  # level and drift alone see it later
