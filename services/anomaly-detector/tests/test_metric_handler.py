"""The metric handler: one AnomalyDetected per anomalous episode, state kept in the store."""

from __future__ import annotations

import numpy as np

from anomaly_detector.metrics.examples import LABELS, last_value, noisy, samples_event
from anomaly_detector.metrics.handler import ANOMALIES_TOPIC, MetricHandler
from cc.events import AnomalyDetected
from cc.kafka import Outgoing
from cc.kafka.state import MemoryStateStore
from cc.testing.events import received


def handler(store: MemoryStateStore) -> MetricHandler:
    return MetricHandler(store, last_value, model_version="test-model-1")


def feed(
    h: MetricHandler, values: np.ndarray, *, start: int = 0, chunk: int = 60
) -> list[Outgoing]:
    out: list[Outgoing] = []
    for i in range(0, len(values), chunk):
        event = samples_event([float(v) for v in values[i : i + chunk]], start=start + i)
        out += h([received(event, offset=start + i)])
    return out


def spiky_series() -> np.ndarray:
    values = np.clip(noisy(700, seed=11), 97.5, 102.5)  # no new extreme after the start
    values[600:612] += 15.0  # one episode: twelve minutes far above normal
    return values


def test_an_anomalous_episode_is_reported_once_with_readable_evidence() -> None:
    out = feed(handler(MemoryStateStore()), spiky_series())
    assert len(out) == 1
    [item] = out
    assert item.topic == ANOMALIES_TOPIC
    anomaly = item.event
    assert isinstance(anomaly, AnomalyDetected)
    assert anomaly.kind == "metric_anomaly"
    assert 0.5 <= anomaly.score <= 1.0
    assert anomaly.signature.service == "checkout"
    assert anomaly.signature.namespace == "shop"
    assert anomaly.signature.cluster == "prod-eu-1"
    assert float(anomaly.evidence["observed"]) > float(anomaly.evidence["expected"]) + 10
    assert anomaly.evidence["model_version"] == "test-model-1"
    assert "baseline" in anomaly.evidence
    assert anomaly.window_start.minute == 0 and anomaly.window_start.hour == 21  # sample 600
    assert item.key == "checkout|shop|cpu"


def test_series_state_is_written_to_the_store_per_series() -> None:
    store = MemoryStateStore()
    feed(handler(store), noisy(120))
    [(key, blob)] = list(store.items())
    assert key.startswith("cpu{") and "job=checkout" in key
    assert len(blob) > 1000


def test_a_restarted_handler_resumes_from_the_store_and_does_not_report_twice() -> None:
    values = spiky_series()
    store = MemoryStateStore()
    first = feed(handler(store), values[:605])
    assert len(first) == 1  # the episode started before the "crash"
    restarted = handler(MemoryStateStore(dict(store.items())))
    rest = feed(restarted, values[605:], start=605)
    assert rest == []


def test_a_redelivered_batch_yields_nothing_new() -> None:
    values = spiky_series()
    store = MemoryStateStore()
    h = handler(store)
    feed(h, values[:600])
    batch = [received(samples_event([float(v) for v in values[600:620]], start=600), offset=600)]
    assert len(h(batch)) == 1
    before = dict(store.items())
    assert h(batch) == []
    assert dict(store.items()) == before


def test_series_with_other_labels_are_scored_independently() -> None:
    h = handler(MemoryStateStore())
    calm = noisy(700, seed=12)
    out = []
    for i in range(0, 700, 50):
        spiky = samples_event([float(v) for v in spiky_series()[i : i + 50]], start=i)
        quiet = samples_event(
            [float(v) for v in calm[i : i + 50]], start=i, labels={**LABELS, "job": "cart"}
        )
        out += h([received(spiky, offset=i), received(quiet, offset=i)])
    anomalies = [o.event for o in out if isinstance(o.event, AnomalyDetected)]
    assert len(anomalies) == len(out)
    assert {a.signature.service for a in anomalies} == {"checkout"}
