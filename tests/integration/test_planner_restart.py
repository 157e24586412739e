"""SIGKILL the remediation-planner mid-storm and restart it: the storm stays one incident.

The planner runs as a real process on the real broker; its incident state lives in compacted
state topics named after its (fresh) consumer group. After the restart it must read that state
back, so the rest of the storm joins the incident it had opened (no second IncidentOpened).
The kill may land between publishing IncidentOpened and saving the incident: the replay must
then reopen it under the same id, whichever anomaly of the storm comes first.

Other planners on the shared broker (other tests' consumer groups) may see the same alerts and
anomalies and publish incidents of their own for this service; the test counts only the
incidents this planner opened: it stores each id (`<group>.state.openings.v1`) before it
publishes the IncidentOpened.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from cc.events import Event, IncidentOpened, IncidentUpdated, SingleObjectSerde
from cc.kafka import EventProducer
from cc.kafka.topics import load_topics
from cc.testing import infra
from cc.testing.groups import high_watermark, start_at_end
from cc.testing.incidents import anomaly_of, firing, place_labels
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess

pytestmark = [pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".run" / "logs" / "it"
PORT = 18383
ALERTS = 400
PACE_S = 0.01  # about 100 alerts a second: a storm lasting a few seconds
OPENED = "incidents.incident-opened.v1"
UPDATED = "incidents.incident-updated.v1"


@pytest.fixture
def producer(endpoints: infra.Endpoints) -> Iterator[EventProducer]:
    producer = EventProducer(endpoints.kafka_bootstrap, SingleObjectSerde(), client_id="it-plan")
    yield producer
    producer.close()


class Storm(threading.Thread):
    """Alerts and one anomaly each (as the skeleton detector emits them), paced, in the
    background, so the planner can be killed while the storm is still coming in."""

    def __init__(self, producer: EventProducer, labels: dict[str, str], count: int) -> None:
        super().__init__(daemon=True)
        self.producer, self.labels, self.count = producer, labels, count
        self.sent = 0
        self._pace = threading.Event()  # never set: its timed wait paces the storm

    def run(self) -> None:
        t0 = datetime.now(UTC)
        for i in range(self.count):
            fp = f"{self.labels['service']}-{i}"
            at = t0 + timedelta(milliseconds=i)
            for topic, event in (
                ("alerts.alert-received.v1", firing(fp, self.labels, at=at)),
                ("anomalies.anomaly-detected.v1", anomaly_of([fp], self.labels, at=at)),
            ):
                self.producer.produce(topic, fp, event).result(30)
            self.sent = i + 1
            self._pace.wait(PACE_S)


def ours(service: str) -> Callable[[Event], bool]:
    def holds(event: Event) -> bool:
        return isinstance(event, IncidentOpened) and event.signature.service == service

    return holds


def opened_by_planner(bootstrap: str, group: str, place: str) -> list[str]:
    """Every incident id the planner of `group` opened for a place, in order (its whole log)."""
    topic, key = f"{group}.state.openings.v1", f"t/{place}".encode()
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    ids: list[str] = []
    try:
        end, position = high_watermark(consumer, topic, 0), 0
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while position < end and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.2):
                value = msg.value()
                if msg.error() is not None:
                    continue
                position = (msg.offset() or 0) + 1
                if msg.key() == key and value is not None:
                    incident_id = orjson.loads(value)["incident_id"]
                    ids += [] if incident_id in ids else [incident_id]
    finally:
        consumer.close()
    return ids


def test_sigkill_mid_storm_keeps_the_incident(
    endpoints: infra.Endpoints, producer: EventProducer, run_id: str
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    service = f"storm-{run_id}"
    labels = place_labels(service, f"ns-{run_id}", "prod")
    group = f"it-planner-{run_id}"
    topics = [spec.name for spec in load_topics()]
    # the execution loop in the same process has a group of its own: from the start of the
    # topics it would first execute every plan earlier runs left on the shared broker
    for each in (group, f"{group}.executor"):
        start_at_end(bootstrap, each, topics)
    opened_since = end_offsets(bootstrap, OPENED)
    updated_since = end_offsets(bootstrap, UPDATED)
    env = {
        "CC_KAFKA_BOOTSTRAP": bootstrap,
        "CC_CONSUMER_GROUP": group,  # also names the state topics: fresh state for this run
        "CC_CONSUMER_INSTANCE_ID": "planner-0",  # the restart takes its partitions back at once
        "CC_CONSUMER_BATCH_SIZE": "20",
        "REMEDIATION_PLANNER_HTTP_PORT": str(PORT),
        "REMEDIATION_PLANNER_RUNBOOKS_FILE": str(ROOT / "deploy/remediation-planner/runbooks.yaml"),
        "REMEDIATION_PLANNER_POLICY_FILE": str(ROOT / "deploy/remediation-planner/policy.yaml"),
        "REMEDIATION_PLANNER_UPDATE_INTERVAL_S": "1",
        "OTEL_TRACES_EXPORTER": "none",
    }
    log = LOGS / "planner-restart.log"
    planner = ServiceProcess("remediation-planner", PORT, log, env).start()
    storm = Storm(producer, labels, ALERTS)
    try:
        planner.wait_ready()
        storm.start()
        first = read_events(
            bootstrap,
            OPENED,
            opened_since,
            until=lambda es: any(map(ours(service), es)),
            timeout=60,
        )
        assert any(map(ours(service), first)), planner.tail()
        planner.stop(signal.SIGKILL)
        assert storm.sent < ALERTS, "the storm must still be coming in when the planner dies"

        planner = ServiceProcess("remediation-planner", PORT, log, env).start()
        planner.wait_ready()
        storm.join(60)

        def whole_storm(events: list[Event]) -> bool:
            return any(
                isinstance(e, IncidentUpdated) and len(e.member_fingerprints) == ALERTS
                for e in events
            )

        updates = read_events(bootstrap, UPDATED, updated_since, until=whole_storm, timeout=90)
        assert whole_storm(updates), planner.tail()
        assert planner.stop(signal.SIGTERM) == 0, "SIGTERM is a graceful stop, exit code 0"
    finally:
        planner.stop()

    place = f"{labels['cluster']}/{labels['namespace']}/{service}"
    ids = opened_by_planner(bootstrap, group, place)
    assert len(ids) == 1, f"one storm, one incident: {ids}"
    [incident_id] = ids
    opened = [
        e
        for e in read_events(bootstrap, OPENED, opened_since, until=lambda _: False, timeout=3)
        if isinstance(e, IncidentOpened) and e.incident_id == incident_id
    ]
    assert opened, "the incident was published"
    assert len({e.metadata.event_id for e in opened}) == 1, "no second IncidentOpened"
    final = [u for u in updates if isinstance(u, IncidentUpdated) and u.incident_id == incident_id]
    assert final and len(set(final[-1].member_fingerprints)) == ALERTS
