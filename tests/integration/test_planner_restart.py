"""SIGKILL the remediation-planner mid-storm and restart it: the storm stays one incident.

The planner runs as a real process on the real broker; its incident state lives in compacted
state topics named after its (fresh) consumer group. After the restart it must read that state
back, so the rest of the storm joins the incident it had opened (no second IncidentOpened).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cc.events import Event, IncidentOpened, IncidentUpdated, SingleObjectSerde
from cc.kafka import EventProducer
from cc.kafka.topics import load_topics
from cc.testing import infra
from cc.testing.groups import start_at_end
from cc.testing.incidents import anomaly_of, firing, place_labels
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess

pytestmark = [pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".run" / "logs" / "it"
PORT = 18383
HALF = 150
OPENED = "incidents.incident-opened.v1"
UPDATED = "incidents.incident-updated.v1"


@pytest.fixture
def producer(endpoints: infra.Endpoints) -> Iterator[EventProducer]:
    producer = EventProducer(endpoints.kafka_bootstrap, SingleObjectSerde(), client_id="it-plan")
    yield producer
    producer.close()


def send_storm(producer: EventProducer, labels: dict[str, str], start: int, count: int) -> None:
    """`count` alerts and one anomaly each (as the skeleton detector emits them)."""
    t0 = datetime.now(UTC)
    futures = []
    for i in range(start, start + count):
        fp = f"{labels['service']}-{i}"
        at = t0 + timedelta(milliseconds=i)
        futures.append(producer.produce("alerts.alert-received.v1", fp, firing(fp, labels, at=at)))
        futures.append(
            producer.produce("anomalies.anomaly-detected.v1", fp, anomaly_of([fp], labels, at=at))
        )
    for future in futures:
        future.result(30)


def ours(service: str) -> Callable[[Event], bool]:
    def holds(event: Event) -> bool:
        return isinstance(event, IncidentOpened) and event.signature.service == service

    return holds


def test_sigkill_mid_storm_keeps_the_incident(
    endpoints: infra.Endpoints, producer: EventProducer, run_id: str
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    service = f"storm-{run_id}"
    labels = place_labels(service, f"ns-{run_id}", "prod")
    group = f"it-planner-{run_id}"
    start_at_end(bootstrap, group, [spec.name for spec in load_topics()])
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
    send_storm(producer, labels, 0, HALF)
    planner = ServiceProcess("remediation-planner", PORT, log, env).start()
    try:
        first = read_events(
            bootstrap,
            OPENED,
            opened_since,
            until=lambda es: any(map(ours(service), es)),
            timeout=60,
        )
        assert any(map(ours(service), first)), planner.tail()
        planner.stop(signal.SIGKILL)  # mid-storm: most of the first half is still unread

        send_storm(producer, labels, HALF, HALF)  # the storm goes on while the planner is down
        planner = ServiceProcess("remediation-planner", PORT, log, env).start()
        planner.wait_ready()

        def whole_storm(events: list[Event]) -> bool:
            return any(
                isinstance(e, IncidentUpdated) and len(e.member_fingerprints) == 2 * HALF
                for e in events
            )

        updates = read_events(bootstrap, UPDATED, updated_since, until=whole_storm, timeout=90)
        assert whole_storm(updates), planner.tail()
        assert planner.stop(signal.SIGTERM) == 0, "SIGTERM is a graceful stop, exit code 0"
    finally:
        planner.stop()

    opened = [
        e
        for e in read_events(bootstrap, OPENED, opened_since, until=lambda _: False, timeout=3)
        if isinstance(e, IncidentOpened) and e.signature.service == service
    ]
    assert {e.incident_id for e in opened} == {opened[0].incident_id}, "one storm, one incident"
    assert len({e.metadata.event_id for e in opened}) == 1, "no second IncidentOpened"
    [incident_id] = {e.incident_id for e in opened}
    final = [u for u in updates if isinstance(u, IncidentUpdated) and u.incident_id == incident_id]
    assert final and len(set(final[-1].member_fingerprints)) == 2 * HALF
