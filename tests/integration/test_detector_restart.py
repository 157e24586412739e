"""SIGKILL the anomaly-detector mid-storm and restart it: its state comes back from Kafka, the
storm is not started a second time, and its end still comes (counting every alert once)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from anomaly_detector.handlers import ALERTS_TOPIC, ANOMALIES_TOPIC, DEPLOYMENTS_TOPIC
from cc.events import (
    AlertReceived,
    AnomalyDetected,
    Event,
    SingleObjectSerde,
    deterministic_id,
    new_metadata,
)
from cc.kafka import EventProducer
from cc.kafka.state import KafkaStateStore
from cc.testing import infra
from cc.testing.groups import start_at_end
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess

pytestmark = [pytest.mark.kafka]

PORT = 18282
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
# A storm of this test ends seconds after its last alert: 6 s window of 1 s buckets, reported
# 10 s after it ended (the detector's lateness). The evidence says "in 6s" (storms) and
# "half-life 3.4h" (rare signatures), which tells this detector's anomalies from those of other
# detectors (default settings) that may run on the same broker at the same time.
DETECTOR_FILE = """
storm: {window_seconds: 6, buckets: 6, min_alerts: 5, end_fraction: 0.3}
rare: {half_life_seconds: 12345}
lateness_seconds: 10
"""
MARKS = {"alert_storm": ("expected", "in 6s"), "rare_signature": ("decayed_count", "3.4h")}
INTERVAL_S = 0.2  # 5 alerts a second while the storm lasts


class AlertSource:
    """Produces one new firing alert of one signature every INTERVAL_S, until stopped."""

    def __init__(self, bootstrap: str, service: str) -> None:
        self.producer = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-storm")
        self.service = service
        self.sent = 0
        self.times: list[datetime] = []  # each alert's startsAt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(INTERVAL_S):  # the storm's pace, not a synchronisation
            now = datetime.now(UTC)
            fingerprint = f"{self.service}-{self.sent:05d}"
            labels = {
                "alertname": "PodCrashLooping",
                "service": self.service,
                "namespace": "it",
                "severity": "critical",
                "pod": fingerprint,
            }
            event = AlertReceived(
                metadata=new_metadata(
                    "ingestor", occurred_at=now, event_id=deterministic_id("it", fingerprint)
                ),
                source="alertmanager",
                fingerprint=fingerprint,
                status="firing",
                alertname="PodCrashLooping",
                labels=labels,
                annotations={},
                starts_at=now,
            )
            # one key: one partition, in order (the test is about the restart, not skew)
            self.producer.produce(ALERTS_TOPIC, self.service, event).result(30)
            self.times.append(now)
            self.sent += 1

    def __enter__(self) -> AlertSource:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.producer.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def mine(events: list[Event], service: str, kind: str, phase: str) -> dict[str, AnomalyDetected]:
    """This test's anomalies of one kind and phase, by event id (a re-sent copy is one event)."""
    return {
        e.metadata.event_id: e
        for e in events
        if isinstance(e, AnomalyDetected)
        and e.signature.service == service
        and (e.kind, e.phase) == (kind, phase)
        and MARKS[kind][1] in e.evidence.get(MARKS[kind][0], "")
    }


def storm_is_saved(bootstrap: str, topic: str, producer: EventProducer) -> bool:
    """The state topic holds an open storm (read back as a restarted detector would)."""
    store = KafkaStateStore(bootstrap, topic, producer)
    store.load()
    return any(k.startswith("s|") and b'"storm":{' in v for k, v in store.items())


def test_sigkill_mid_storm_restores_state_and_starts_the_storm_once(
    endpoints: infra.Endpoints, run_id: str, tmp_path: Path
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    service = f"it-restart-{run_id}"
    group = f"it-detector-{run_id}"
    state_topic = f"anomaly-detector.state.alerts.it-{run_id}"
    start_at_end(bootstrap, group, [ALERTS_TOPIC, DEPLOYMENTS_TOPIC])
    detector_file = tmp_path / "detector.yaml"
    detector_file.write_text(DETECTOR_FILE)
    env = {
        "CC_KAFKA_BOOTSTRAP": bootstrap,
        "ANOMALY_DETECTOR_HTTP_PORT": str(PORT),
        "ANOMALY_DETECTOR_DETECTOR_FILE": str(detector_file),
        "ANOMALY_DETECTOR_STATE_TOPIC": state_topic,
        "ANOMALY_DETECTOR_TICK_SECONDS": "0.2",
        "CC_CONSUMER_GROUP": group,
        "CC_CONSUMER_BATCH_SIZE": "20",
        # static membership: the restarted detector gets its partitions back at once
        "CC_CONSUMER_INSTANCE_ID": "detector-0",
        "OTEL_TRACES_EXPORTER": "none",
    }
    log = LOGS / "detector-restart.log"
    since = end_offsets(bootstrap, ANOMALIES_TOPIC)
    checker = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-state-reader")
    detector = ServiceProcess("anomaly-detector", PORT, log, env).start()
    try:
        detector.wait_ready()
        with AlertSource(bootstrap, service) as source:
            started = read_events(
                bootstrap,
                ANOMALIES_TOPIC,
                since,
                until=lambda es: bool(mine(es, service, "alert_storm", "started")),
                timeout=60,
            )
            assert mine(started, service, "alert_storm", "started"), detector.tail()
            for _ in range(100):  # each check reads the state topic to its end
                if storm_is_saved(bootstrap, state_topic, checker):
                    break
            else:
                pytest.fail("the open storm never reached the state topic")

            detector.stop(signal.SIGKILL)  # mid-storm: alerts keep coming
            sent_at_kill = source.sent
            detector = ServiceProcess("anomaly-detector", PORT, log, env).start()
            detector.wait_ready()
            more = source.sent
            while source.sent < more + 15:  # the restarted detector sees the storm go on
                source.stopped.wait(INTERVAL_S)
            source.stop()
        total = source.sent
        assert sent_at_kill < total

        def storm_ended(events: list[Event]) -> bool:
            return bool(mine(events, service, "alert_storm", "ended"))

        events = read_events(bootstrap, ANOMALIES_TOPIC, since, until=storm_ended, timeout=90)
        assert detector.stop(signal.SIGTERM) == 0
    finally:
        detector.stop()
        checker.close()

    [first] = mine(events, service, "alert_storm", "started").values()
    assert mine(events, service, "alert_storm", "ended"), "the storm's end never came"
    [ended] = mine(events, service, "alert_storm", "ended").values()
    assert ended.anomaly_id == first.anomaly_id
    # under load the source can stall longer than the storm's end rule allows: alerts after the
    # storm's end belong to no storm; every alert before it is counted exactly once
    in_storm = sum(1 for t in source.times if t <= ended.window_end)
    assert in_storm > sent_at_kill, "the storm went on across the crash"
    assert ended.evidence["total"] == str(in_storm), "every alert counted once, across the crash"
    assert len(mine(events, service, "rare_signature", "started")) == 1
    restored = [
        orjson.loads(line)
        for line in log.read_text().splitlines()
        if "alert detector state restored" in line
    ]
    assert restored[-1]["keys"] > 0, "the restarted detector loaded the saved state"
