"""The Kafka shell against a real broker: delivery, dead letters, retries, graceful stop."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry

from cc.events import SingleObjectSerde
from cc.kafka import (
    ConsumerLoop,
    ConsumerMetrics,
    EventProducer,
    LoopConfig,
    Outgoing,
    Received,
    RetryableError,
    ensure_topics,
)
from cc.testing.events import alert

pytestmark = pytest.mark.kafka


@pytest.fixture
def topics(kafka_bootstrap: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    names = {"in": f"it.in.{suffix}.v1", "out": f"it.out.{suffix}.v1", "dlq": f"it.dlq.{suffix}.v1"}
    ensure_topics(kafka_bootstrap, {n: 1 for n in names.values()})
    return names


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[EventProducer]:
    p = EventProducer(kafka_bootstrap, SingleObjectSerde(), client_id="it")
    yield p
    p.close()


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list[Any]:
    """Every message of a topic from the start, waiting until `expected` have arrived."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages: list[Any] = []
    try:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        while len(messages) < expected and not deadline.is_set():
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                messages.append(msg)
        timer.cancel()
    finally:
        consumer.close()
    return messages


def run_loop(loop: ConsumerLoop) -> threading.Thread:
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    return thread


def make_loop(
    bootstrap: str, topics: dict[str, str], producer: EventProducer, **handlers: Any
) -> ConsumerLoop:
    config = LoopConfig(
        service="it",
        group_id=f"it-{uuid.uuid4().hex[:8]}",
        topics=[topics["in"]],
        dead_letter_topic=topics["dlq"],
        bootstrap=bootstrap,
        retry_backoff=(0.05, 0.2),
    )
    return ConsumerLoop(
        config,
        SingleObjectSerde(),
        producer,
        metrics=ConsumerMetrics(CollectorRegistry()),
        **handlers,
    )


def test_send_returns_only_once_the_broker_acknowledged(
    producer: EventProducer, topics: dict[str, str], kafka_bootstrap: str
) -> None:
    msg = producer.send(topics["in"], "k", alert())
    assert msg.error() is None and msg.offset() == 0
    [stored] = read_all(kafka_bootstrap, topics["in"], 1)
    assert SingleObjectSerde().decode(stored.value(), topics["in"]) == alert()
    assert ("cc-event-type", b"commandcenter.AlertReceived") in stored.headers()


def test_poison_messages_go_to_the_dead_letter_topic_and_the_loop_keeps_going(
    producer: EventProducer, topics: dict[str, str], kafka_bootstrap: str
) -> None:
    handled: list[str] = []
    done = threading.Event()

    def handler(item: Received) -> list[Outgoing]:
        if item.event.fingerprint == "boom":
            raise ValueError("handler cannot cope with boom")
        handled.append(item.event.fingerprint)
        if item.event.fingerprint == "last":
            done.set()
        return [Outgoing(topics["out"], item.key, item.event, cause=item)]

    producer.produce_raw(topics["in"], key=b"x", value=b"not avro at all", headers=[]).result(10)
    for fp in ("first", "boom", "last"):
        producer.send(topics["in"], fp, alert(fingerprint=fp))
    loop = make_loop(kafka_bootstrap, topics, producer, handler=handler)
    thread = run_loop(loop)
    assert done.wait(30), "the loop stopped at the poison messages"
    loop.stop()
    thread.join(10)

    assert handled == ["first", "last"]
    dead = read_all(kafka_bootstrap, topics["dlq"], 2)
    headers = [dict(m.headers()) for m in dead]
    assert [h["cc-dlq-stage"] for h in headers] == [b"decode", b"handle"]
    assert dead[0].value() == b"not avro at all"
    assert b"handler cannot cope with boom" in headers[1]["cc-dlq-error-message"]
    assert headers[1]["cc-dlq-original-topic"] == topics["in"].encode()
    assert len(read_all(kafka_bootstrap, topics["out"], 2)) == 2


def committed_offset(bootstrap: str, group: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        [tp] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return tp.offset
    finally:
        consumer.close()


def test_retryable_failure_commits_nothing_until_the_batch_succeeds(
    producer: EventProducer, topics: dict[str, str], kafka_bootstrap: str
) -> None:
    attempts: list[int] = []
    stored = threading.Event()
    offsets_seen_while_failing: list[int] = []

    def batch(items: list[Received]) -> list[Outgoing]:
        attempts.append(len(items))
        if len(attempts) < 3:
            offsets_seen_while_failing.append(
                committed_offset(kafka_bootstrap, loop.config.group_id, topics["in"])
            )
            raise RetryableError("store is down")
        stored.set()
        return []

    for i in range(5):
        producer.send(topics["in"], str(i), alert(fingerprint=f"f{i}"))
    loop = make_loop(kafka_bootstrap, topics, producer, batch_handler=batch)
    thread = run_loop(loop)
    assert stored.wait(30)
    loop.stop()
    thread.join(10)
    assert len(attempts) == 3 and len(set(attempts)) == 1  # the same batch, retried whole
    assert all(o < 0 for o in offsets_seen_while_failing)  # nothing committed meanwhile
    assert committed_offset(kafka_bootstrap, loop.config.group_id, topics["in"]) == 5


def test_redelivered_event_is_skipped_by_event_id(
    producer: EventProducer, topics: dict[str, str], kafka_bootstrap: str
) -> None:
    handled: list[str] = []
    done = threading.Event()

    def handler(item: Received) -> list[Outgoing]:
        handled.append(item.event.metadata.event_id)
        if item.event.fingerprint == "end":
            done.set()
        return []

    same = alert(fingerprint="dup")
    producer.send(topics["in"], "dup", same)
    producer.send(topics["in"], "dup", same)
    producer.send(topics["in"], "end", alert(fingerprint="end"))
    loop = make_loop(kafka_bootstrap, topics, producer, handler=handler)
    thread = run_loop(loop)
    assert done.wait(30)
    loop.stop()
    thread.join(10)
    assert handled.count(same.metadata.event_id) == 1


def test_stop_while_a_dependency_is_down_commits_nothing_and_exits_cleanly(
    producer: EventProducer, topics: dict[str, str], kafka_bootstrap: str
) -> None:
    failing = threading.Event()

    def batch(items: list[Received]) -> list[Outgoing]:
        failing.set()
        raise RetryableError("store is down")

    producer.send(topics["in"], "k", alert())
    loop = make_loop(kafka_bootstrap, topics, producer, batch_handler=batch)
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _run_capturing(loop, errors), daemon=True)
    thread.start()
    assert failing.wait(30)
    loop.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert errors == []
    assert committed_offset(kafka_bootstrap, loop.config.group_id, topics["in"]) < 0


def _run_capturing(loop: ConsumerLoop, errors: list[BaseException]) -> None:
    try:
        loop.run()
    except BaseException as exc:  # noqa: BLE001 - the test asserts there is none
        errors.append(exc)


def test_a_cancelled_wait_does_not_break_later_deliveries(
    producer: EventProducer, topics: dict[str, str]
) -> None:
    """A request that times out cancels its future; the acknowledgement that comes later must
    not kill the thread that serves every other delivery."""
    first = producer.produce(topics["in"], "a", alert(fingerprint="a"))
    first.cancel()
    assert producer.send(topics["in"], "b", alert(fingerprint="b"), timeout=10).error() is None
    assert producer.send(topics["in"], "c", alert(fingerprint="c"), timeout=10).error() is None
