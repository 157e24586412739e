"""Kafka-backed state and the loop's state/tick hooks, against a real broker."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest

from cc.events import SingleObjectSerde
from cc.kafka import EventProducer, KafkaStateStore, Outgoing, Received, ensure_topics
from cc.testing.events import alert
from tests.integration.test_kafka_shell import make_loop, read_all, run_loop

pytestmark = pytest.mark.kafka


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[EventProducer]:
    p = EventProducer(kafka_bootstrap, SingleObjectSerde(), client_id="it-state")
    yield p
    p.close()


def state_topic() -> str:
    return f"it.state.{uuid.uuid4().hex[:8]}.v1"


def test_state_written_then_reloaded_keeps_the_latest_value_and_honours_deletes(
    kafka_bootstrap: str, producer: EventProducer
) -> None:
    topic = state_topic()
    store = KafkaStateStore(kafka_bootstrap, topic, producer)
    assert store.load() == 0
    for i in range(50):
        store.put(f"k{i % 5}", str(i).encode())
    store.put("gone", b"x")
    for future in store.flush():
        future.result(10)
    store.put("gone", None)
    store.put("k0", b"last")
    for future in store.flush():
        future.result(10)

    again = KafkaStateStore(kafka_bootstrap, topic, producer)
    assert again.load() == 5
    assert again.get("k0") == b"last"
    assert again.get("k4") == b"49"
    assert again.get("gone") is None
    assert again.flush() == []


def test_loop_flushes_state_before_commit_and_ticks_without_messages(
    kafka_bootstrap: str, producer: EventProducer
) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = {
        "in": f"it.in.{suffix}.v1",
        "out": f"it.out.{suffix}.v1",
        "dlq": f"it.dlq.{suffix}.v1",
    }
    ensure_topics(kafka_bootstrap, {n: 1 for n in topics.values()})
    store = KafkaStateStore(kafka_bootstrap, state_topic(), producer)
    store.load()
    handled = threading.Event()
    ticked = threading.Event()
    tick_times: list[datetime] = []

    def handler(item: Received) -> list[Outgoing]:
        count = int(store.get("count") or b"0") + 1
        store.put("count", str(count).encode())
        if count == 3:
            handled.set()
        return []

    def tick(now: datetime) -> list[Outgoing]:
        tick_times.append(now)
        if handled.is_set() and not ticked.is_set():
            ticked.set()
            return [Outgoing(topics["out"], "tick", alert(fingerprint="from-tick"))]
        return []

    loop = make_loop(
        kafka_bootstrap,
        topics,
        producer,
        handler=handler,
        before_commit=store.flush,
        tick=tick,
        tick_interval=0.1,
    )
    thread = run_loop(loop)
    for fp in ("a", "b", "c"):
        producer.send(topics["in"], fp, alert(fingerprint=fp))
    assert handled.wait(30) and ticked.wait(10)
    loop.stop()
    thread.join(10)

    [out] = read_all(kafka_bootstrap, topics["out"], 1)
    assert SingleObjectSerde().decode(out.value(), topics["out"]).fingerprint == "from-tick"
    assert all(t.tzinfo is not None for t in tick_times)
    reloaded = KafkaStateStore(kafka_bootstrap, store.topic, producer)
    reloaded.load()
    assert reloaded.get("count") == b"3"
