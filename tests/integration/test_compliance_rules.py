"""The rules loop on the real Kafka: violations published with evidence, state kept in Kafka,
a restart that replays the same events publishes nothing twice.

Another rules loop may run on the same broker (the e2e session's compliance-auditor, a second
group): it finds the same violations under the same ids, so the violations topic may hold a
violation more than once, always under one event id (consumers dedupe by event id). What this
test's loops published themselves is counted at their producer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from prometheus_client import CollectorRegistry

from cc.events import ComplianceViolationFound, Event, Serde
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


class Recording(EventProducer):
    """A real producer that also remembers the violations it was asked to publish."""

    def __init__(self, bootstrap: str, serde: Serde) -> None:
        super().__init__(bootstrap, serde, client_id="it-rules-loop")
        self.violations: list[ComplianceViolationFound] = []

    def produce(self, topic: str, key: str, event: Event, **kwargs: Any) -> Future[Message]:
        if isinstance(event, ComplianceViolationFound) and topic == VIOLATIONS_TOPIC:
            self.violations.append(event)
        return super().produce(topic, key, event, **kwargs)


class Running:
    """A rules loop in a thread, with its own recording producer."""

    def __init__(self, bootstrap: str, group: str, state: str) -> None:
        self.producer = Recording(bootstrap, make_serde(None))
        self.loop: ConsumerLoop = build_rules_loop(
            Settings(kafka_bootstrap=bootstrap),
            producer=self.producer,
            serde=make_serde(None),
            metrics=ConsumerMetrics(CollectorRegistry()),
            group_id=group,
            state_topic=state,
            tick_interval=0.5,
            idle_after=IDLE_AFTER_S,
        )
        self.thread = threading.Thread(target=self.loop.run, daemon=True)
        self.thread.start()

    def published(self, run_id: str) -> list[ComplianceViolationFound]:
        """What this loop published of the test's cases."""
        return [v for v in list(self.producer.violations) if run_id in v.service + v.description]

    def await_published(
        self, run_id: str, done: Callable[[list[ComplianceViolationFound]], bool]
    ) -> list[ComplianceViolationFound]:
        deadline = time.monotonic() + 60
        while not done(self.published(run_id)) and time.monotonic() < deadline:
            time.sleep(0.2)  # polling the loop's own output against a deadline
        return self.published(run_id)

    def stop(self) -> None:
        self.loop.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        self.producer.close()


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

    first = Running(kafka_bootstrap, group, state)
    publish(producer, h.events)
    expected = {
        "deploy-outside-change-window",
        "approval-by-proposer",
        "incident-not-acknowledged",
        "incident-not-resolved",
    }
    own = first.await_published(run_id, lambda got: {v.rule_id for v in got} >= expected)
    first.stop()
    assert sorted(v.rule_id for v in own) == sorted(expected)  # each once; the web one is fine
    ids = {v.violation_id for v in own}
    found = once_each(
        read_events(
            kafka_bootstrap,
            VIOLATIONS_TOPIC,
            since,
            until=lambda got: {v.violation_id for v in mine(got, run_id)} >= ids,
            timeout=60,
        ),
        run_id,
    )
    assert {v.violation_id for v in found} == ids  # in Kafka, and nothing else of this run
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
    second = Running(kafka_bootstrap, replay, state)
    deadline = time.monotonic() + 60
    while not caught_up(kafka_bootstrap, replay, ends) and time.monotonic() < deadline:
        time.sleep(0.5)  # polling the committed offsets: the loop's own progress signal
    marker = History(f"{run_id}-marker")
    late = marker.incident(f"inc-d-{run_id}", opened_at, service=f"marker-{run_id}")
    publish(producer, marker.events)  # fires only at an idle tick, after the replay
    replayed = second.await_published(
        run_id, lambda got: any(late.metadata.event_id in v.evidence_event_ids for v in got)
    )
    second.stop()
    assert any(late.metadata.event_id in v.evidence_event_ids for v in replayed)
    assert [v.rule_id for v in replayed if "marker" not in v.service] == []  # nothing twice
    everything = once_each(
        read_events(
            kafka_bootstrap,
            VIOLATIONS_TOPIC,
            since,
            until=lambda got: (
                {v.violation_id for v in mine(got, run_id)} >= {v.violation_id for v in replayed}
            ),
            timeout=60,
        ),
        run_id,
    )
    assert sorted(v.rule_id for v in everything if "marker" not in v.service) == sorted(expected)


def once_each(events: list[Event], run_id: str) -> list[ComplianceViolationFound]:
    """The test's violations, one per violation id; every copy of one carries the same event id
    (another rules loop on the broker publishes the same ones), so a consumer deduping by event
    id sees each violation once."""
    first: dict[str, ComplianceViolationFound] = {}
    for v in mine(events, run_id):
        seen = first.setdefault(v.violation_id, v)
        assert seen.metadata.event_id == v.metadata.event_id, v.violation_id
    assert len({v.metadata.event_id for v in first.values()}) == len(first)
    return list(first.values())
