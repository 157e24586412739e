"""Reading what landed on a topic, from a given point, in tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from cc.events import Event, SingleObjectSerde
from cc.testing.groups import high_watermark


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """High watermark of every partition: 'from now on' for a later read."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: high_watermark(consumer, topic, p) for p in partitions}
    finally:
        consumer.close()


def read_events(
    bootstrap: str,
    topic: str,
    since: dict[int, int],
    *,
    until: Callable[[list[Event]], bool],
    timeout: float = 30.0,
) -> list[Event]:
    """Decode events after `since` until the condition holds (or the deadline: then what came)."""
    serde = SingleObjectSerde()
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, o) for p, o in since.items()])
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(events) and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.2):
                value = msg.value()
                if msg.error() is None and value is not None:
                    events.append(serde.decode(value, topic))
    finally:
        consumer.close()
    return events
