"""The metric handler: one AnomalyDetected per anomalous episode, state kept in the store."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from anomaly_detector.domain.params import DeployParams
from anomaly_detector.metrics.deploys import MetricDeploys
from anomaly_detector.metrics.examples import LABELS, T0, last_value, noisy, samples_event
from anomaly_detector.metrics.handler import ANOMALIES_TOPIC, MetricHandler
from cc.events import AnomalyDetected, DeploymentObserved
from cc.kafka import Outgoing
from cc.kafka.state import MemoryStateStore
from cc.testing.events import received
from cc.testing.incidents import deployed


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


def deploy_handler(store: MemoryStateStore) -> MetricHandler:
    deploys = MetricDeploys(DeployParams(), store)
    return MetricHandler(store, last_value, model_version="test-model-1", deploys=deploys)


def shift_after(h: MetricHandler, deploy: DeploymentObserved | None) -> list[AnomalyDetected]:
    """The spiky series with `deploy` handled between samples 589 and 590."""
    values = spiky_series()
    out = feed(h, values[:590])
    if deploy is not None:
        out += h([received(deploy, offset=10_000)])
    out += feed(h, values[590:], start=590)
    return [o.event for o in out if isinstance(o.event, AnomalyDetected)]


def test_a_metric_shift_soon_after_a_deploy_of_its_service_names_that_deploy() -> None:
    deploy = deployed("checkout", "bad0c0ffee12", at=T0 + timedelta(minutes=590))
    [anomaly] = shift_after(deploy_handler(MemoryStateStore()), deploy)
    assert anomaly.kind == "deploy_regression"
    assert anomaly.suspect is not None
    assert anomaly.suspect.application == "checkout"
    assert anomaly.suspect.deployment_event_id == deploy.metadata.event_id
    assert anomaly.suspect.seconds_before == 600.0  # finished 10 min before sample 600
    assert anomaly.evidence["suspect_revision"] == "bad0c0ffee12"
    assert "after checkout was deployed" in anomaly.summary


def test_a_decoy_deploy_elsewhere_or_one_long_before_is_not_named() -> None:
    decoy = deployed("payments", "1234", namespace="billing", at=T0 + timedelta(minutes=590))
    early = deployed("checkout", "5678", at=T0 + timedelta(minutes=540))  # 60 min before
    for deploy in (decoy, early, None):
        [anomaly] = shift_after(deploy_handler(MemoryStateStore()), deploy)
        assert anomaly.kind == "metric_anomaly" and anomaly.suspect is None


def test_deploys_survive_a_restart_of_the_metric_loop() -> None:
    store = MemoryStateStore()
    first = deploy_handler(store)
    feed(first, spiky_series()[:590])
    first([received(deployed("checkout", "abc", at=T0 + timedelta(minutes=590)), offset=1)])
    second = deploy_handler(store)  # a new process on the same state
    out = feed(second, spiky_series()[590:], start=590)
    [anomaly] = [o.event for o in out if isinstance(o.event, AnomalyDetected)]
    assert anomaly.kind == "deploy_regression"
    assert anomaly.suspect is not None and anomaly.suspect.revision == "abc"


def test_a_deploy_handled_after_the_shift_it_explains_still_names_it_once() -> None:
    h = deploy_handler(MemoryStateStore())
    values = spiky_series()
    [shift] = [o.event for o in feed(h, values[:605]) if isinstance(o.event, AnomalyDetected)]
    assert shift.kind == "metric_anomaly"  # the deploy is not known yet
    decoy = deployed("payments", "1", namespace="billing", at=T0 + timedelta(minutes=595))
    assert h([received(decoy, offset=1)]) == []  # another service's deploy explains nothing
    late = deployed("checkout", "bad0c0ffee12", at=T0 + timedelta(minutes=590))
    [regression] = [o.event for o in h([received(late, offset=1)])]
    assert isinstance(regression, AnomalyDetected)
    assert regression.kind == "deploy_regression"
    assert regression.suspect is not None
    assert regression.suspect.deployment_event_id == late.metadata.event_id
    assert regression.window_start == shift.window_start  # the shift's start, not the deploy's
    assert regression.evidence["deploy_reported"].startswith("after the shift")
    assert h([received(late, offset=2)]) == []  # the same deploy again: explained already
