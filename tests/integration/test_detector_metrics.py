"""The anomaly-detector's metric loop on a real broker: remote_write samples in, one anomaly out
for a level shift, scored by the committed TensorFlow model; a deploy of the series' service
shortly before the shift is named as its suspect (kind `deploy_regression`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from anomaly_detector.handlers import ANOMALIES_TOPIC, DEPLOYMENTS_TOPIC
from anomaly_detector.main import METRICS_TOPIC
from anomaly_detector.metrics.examples import LABELS, T0, noisy, samples_event
from cc.events import AnomalyDetected, Event, SingleObjectSerde
from cc.kafka import EventProducer
from cc.testing import infra
from cc.testing.groups import start_at_end
from cc.testing.incidents import deployed
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess

pytestmark = [pytest.mark.kafka]

PORT = 18283
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"


def test_a_level_shift_after_a_deploy_is_one_anomaly_naming_the_deploy(
    endpoints: infra.Endpoints, run_id: str
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    group = f"it-detector-metrics-{run_id}"
    start_at_end(bootstrap, f"{group}.metrics", [METRICS_TOPIC, DEPLOYMENTS_TOPIC])
    start_at_end(bootstrap, group, ["alerts.alert-received.v1"])
    env = {
        "CC_KAFKA_BOOTSTRAP": bootstrap,
        "ANOMALY_DETECTOR_HTTP_PORT": str(PORT),
        "ANOMALY_DETECTOR_STATE_TOPIC": f"anomaly-detector.state.alerts.it-{run_id}",
        "ANOMALY_DETECTOR_METRIC_STATE_TOPIC": f"anomaly-detector.state.metrics.it-{run_id}",
        "CC_CONSUMER_GROUP": group,
        "OTEL_TRACES_EXPORTER": "none",
    }
    job = f"it-metrics-{run_id}"
    values = [*noisy(400, seed=3), *(noisy(60, seed=4) + 40.0)]
    since = end_offsets(bootstrap, ANOMALIES_TOPIC)
    detector = ServiceProcess("anomaly-detector", PORT, LOGS / "detector-metrics.log", env)
    producer = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-metrics")
    try:
        detector.start().wait_ready()
        deploy = deployed(job, "bad0c0ffee12", at=T0 + timedelta(minutes=395))
        producer.produce(DEPLOYMENTS_TOPIC, job, deploy)  # five minutes before the shift
        producer.flush(30)
        for start in range(0, len(values), 20):  # remote_write sends batches
            batch = samples_event(
                [float(v) for v in values[start : start + 20]],
                start=start,
                labels={**LABELS, "job": job},
            )
            producer.produce(METRICS_TOPIC, job, batch)
        producer.flush(30)

        def mine(events: list[Event]) -> list[AnomalyDetected]:
            return [
                e
                for e in events
                if isinstance(e, AnomalyDetected)
                and e.kind in ("metric_anomaly", "deploy_regression")
                and e.signature.service == job
            ]

        def named(events: list[Event]) -> bool:
            return any(e.kind == "deploy_regression" for e in mine(events))

        events = read_events(bootstrap, ANOMALIES_TOPIC, since, until=named, timeout=90)
        found = mine(events)
        assert found, detector.tail()
        first, regression = found[0], found[-1]
        assert first.phase == "started" and 0.0 < first.score <= 1.0
        shift_at = samples_event([0.0], start=400).series[0].samples[0].timestamp
        assert first.window_end >= shift_at, "no look-ahead: it fires after the shift"
        assert float(first.evidence["observed"]) > np.mean(values[:400]) + 10
        assert "model_version" in first.evidence
        # the deploy and the samples come from two topics: the deploy named when the shift
        # opens (one anomaly) or, handled after it, in a deploy_regression of its own
        assert [e.kind for e in found] in (
            ["deploy_regression"],
            ["metric_anomaly", "deploy_regression"],
        ), [e.summary for e in found]
        assert regression.suspect is not None
        assert regression.suspect.deployment_event_id == deploy.metadata.event_id
        assert regression.window_start == first.window_start  # both name the same shift
    finally:
        producer.close()
        detector.stop()
