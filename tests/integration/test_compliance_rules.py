"""The rules loop on the real Kafka: violations published with evidence, state kept in Kafka,
a restart that replays the same events publishes nothing twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry

from cc.events import ComplianceViolationFound, Event
from cc.kafka import ConsumerLoop, ConsumerMetrics, EventProducer, load_topics
from cc.platform.runtime import make_serde
from cc.testing.groups import start_at_end
from cc.testing.kafka_reader import end_offsets, read_events
from compliance_auditor.config import Settings
from compliance_auditor.kpis.synthetic import History
from compliance_auditor.rules.loop import RULES_TOPICS, VIOLATIONS_TOPIC, build_rules_loop

pytestmark = pytest.mark.kafka
SATURDAY = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # in the past: no future-dated events
# quiet this long = caught up (shorter than the service's 30 s; long enough for a loaded host)
IDLE_AFTER_S = 8.0
TOPIC_OF = {spec.record: spec.name for spec in load_topics()}


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[EventProducer]:
    p = EventProducer(kafka_bootstrap, make_serde(None), client_id="it-rules")
    yield p
    p.close()


def publish(producer: EventProducer, events: list[Event]) -> None:
    futures = [
        producer.produce(TOPIC_OF[e.SCHEMA.rsplit(".", 1)[-1]], e.metadata.event_id, e)
        for e in events
    ]
    for future in futures:
        future.result(timeout=30)


def positions(bootstrap: str) -> dict[tuple[str, int], int]:
    return {(t, p): o for t in RULES_TOPICS for p, o in end_offsets(bootstrap, t).items()}


def commit(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        parts = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        consumer.commit(offsets=parts, asynchronous=False)
    finally:
        consumer.close()


def caught_up(bootstrap: str, group: str, ends: dict[tuple[str, int], int]) -> bool:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        parts = [TopicPartition(t, p) for t, p in ends]
        done = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(parts, timeout=10)}
    finally:
        consumer.close()
    return all(done[key] >= end for key, end in ends.items())


class Running:
    """A rules loop in a thread."""

    def __init__(self, bootstrap: str, producer: EventProducer, group: str, state: str) -> None:
        self.loop: ConsumerLoop = build_rules_loop(
            Settings(kafka_bootstrap=bootstrap),
            producer=producer,
            serde=make_serde(None),
            metrics=ConsumerMetrics(CollectorRegistry()),
            group_id=group,
            state_topic=state,
            tick_interval=0.5,
            idle_after=IDLE_AFTER_S,
        )
        self.thread = threading.Thread(target=self.loop.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.loop.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def mine(events: list[Event], run_id: str) -> list[ComplianceViolationFound]:
    return [
        e
        for e in events
        if isinstance(e, ComplianceViolationFound) and run_id in e.service + e.description
    ]


def test_violations_are_published_once_even_when_a_restart_replays_the_events(
    kafka_bootstrap: str, producer: EventProducer, run_id: str
) -> None:
    group, state = f"compliance-auditor.rules.it-{run_id}", f"it.state.rules.{run_id}.v1"
    start_at_end(kafka_bootstrap, group, RULES_TOPICS)
    start = positions(kafka_bootstrap)
    since = end_offsets(kafka_bootstrap, VIOLATIONS_TOPIC)
    opened_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    h = History(run_id)
    deploy = h.deploy(f"shop-{run_id}", "r1", SATURDAY)
    plan = h.planned(
        f"p-{run_id}",
        f"inc-a-{run_id}",
        opened_at,
        service=f"api-{run_id}",
        gate="needs_approval",
        proposer="carol",
    )
    approval = h.decided(plan, opened_at + timedelta(minutes=1), by="carol")
    ignored = h.incident(f"inc-b-{run_id}", opened_at, service=f"db-{run_id}")
    fine = h.incident(f"inc-c-{run_id}", opened_at, service=f"web-{run_id}")
    h.planned(
        f"q-{run_id}",
        fine.incident_id,
        opened_at + timedelta(minutes=3),
        service=f"web-{run_id}",
        proposer="erin",
    )
    h.resolved(fine, opened_at + timedelta(minutes=30))

    first = Running(kafka_bootstrap, producer, group, state)
    publish(producer, h.events)
    expected = {
        "deploy-outside-change-window",
        "approval-by-proposer",
        "incident-not-acknowledged",
        "incident-not-resolved",
    }
    found = mine(
        read_events(
            kafka_bootstrap,
            VIOLATIONS_TOPIC,
            since,
            until=lambda got: {v.rule_id for v in mine(got, run_id)} == expected,
            timeout=60,
        ),
        run_id,
    )
    first.stop()
    assert sorted(v.rule_id for v in found) == sorted(expected)  # the web incident is fine
    by_rule = {v.rule_id: v for v in found}
    assert by_rule["deploy-outside-change-window"].evidence_event_ids == [deploy.metadata.event_id]
    assert by_rule["approval-by-proposer"].evidence_event_ids == [
        plan.metadata.event_id,
        approval.metadata.event_id,
    ]
    assert by_rule["incident-not-acknowledged"].evidence_event_ids == [ignored.metadata.event_id]

    # restart from the same Kafka state under another group that replays everything
    replay = f"{group}.replay"
    commit(kafka_bootstrap, replay, start)
    ends = positions(kafka_bootstrap)
    second = Running(kafka_bootstrap, producer, replay, state)
    deadline = time.monotonic() + 60
    while not caught_up(kafka_bootstrap, replay, ends) and time.monotonic() < deadline:
        time.sleep(0.5)  # polling the committed offsets: the loop's own progress signal
    marker = History(f"{run_id}-marker")
    late = marker.incident(f"inc-d-{run_id}", opened_at, service=f"marker-{run_id}")
    publish(producer, marker.events)  # fires only at an idle tick, after the replay
    everything = read_events(
        kafka_bootstrap,
        VIOLATIONS_TOPIC,
        since,
        until=lambda got: any(
            late.metadata.event_id in v.evidence_event_ids for v in mine(got, run_id)
        ),
        timeout=60,
    )
    second.stop()
    published = mine(everything, run_id)
    rules = sorted(v.rule_id for v in published if "marker" not in v.service)
    assert rules == sorted(expected)  # nothing from the replay published twice
    assert len({v.metadata.event_id for v in published}) == len(published)
