"""Kafka-backed key/value state: a compacted topic is the durable copy, a dict the working one.

A service loads the topic to its end at start, reads and writes the dict while it handles
messages, and `flush()`es the changed keys before its consumer loop commits input offsets
(`ConsumerLoop(before_commit=store.flush)`). So after a crash the state holds at least
everything the committed offsets stand for; messages replayed after the last commit meet state
that may already include them, which handlers make harmless with deterministic event ids.

The topic is compacted (latest value per key survives; `None` is a tombstone). One partition:
the state of one consumer group instance; a service that scales out keys its state by its
input partition or gives each instance its own topic.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    NewTopic,
)

from cc.kafka.producer import EventProducer

log = logging.getLogger(__name__)

STATE_TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "min.cleanable.dirty.ratio": "0.1",
    "segment.ms": "3600000",
}


class StateStore(Protocol):
    """What handlers need of state: get, put (None deletes), items."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes | None) -> None: ...

    def items(self) -> Iterator[tuple[str, bytes]]: ...


class _DictState:
    """The working copy: a dict and the keys changed since the last flush (deliberately no
    `__len__`: an empty store must not be falsy in `store or default`)."""

    def __init__(self, initial: dict[str, bytes] | None = None) -> None:
        self._data: dict[str, bytes] = dict(initial or {})
        self._dirty: set[str] = set()

    def get(self, key: str) -> bytes | None:
        """The value, or None."""
        return self._data.get(key)

    def put(self, key: str, value: bytes | None) -> None:
        """Set or (None) delete a key; written on the next flush."""
        if value is None:
            self._data.pop(key, None)
        else:
            self._data[key] = value
        self._dirty.add(key)

    def items(self) -> Iterator[tuple[str, bytes]]:
        """Every key and value (a snapshot)."""
        return iter(list(self._data.items()))


class MemoryStateStore(_DictState):
    """In-memory state with the same surface, for unit tests; `flushed` shows what was written."""

    def __init__(self, initial: dict[str, bytes] | None = None) -> None:
        super().__init__(initial)
        self.flushed: dict[str, bytes | None] = {}

    def load(self, timeout: float = 60.0) -> int:
        """Nothing to read: the count of keys held."""
        return len(self._data)

    def flush(self) -> list[Future[Message]]:
        """Record the changed keys as written."""
        for key in self._dirty:
            self.flushed[key] = self._data.get(key)
        self._dirty.clear()
        return []


class KafkaStateStore(_DictState):
    """State kept in a dict and written through to a compacted topic on `flush()`."""

    def __init__(self, bootstrap: str, topic: str, producer: EventProducer) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.topic = topic
        self.producer = producer

    def flush(self) -> list[Future[Message]]:
        """Produce the latest value of every changed key; the futures resolve on Kafka's ack."""
        futures = [
            self.producer.produce_raw(
                self.topic, key=key.encode(), value=self._data.get(key), headers=[]
            )
            for key in self._dirty
        ]
        self._dirty.clear()
        return futures

    def load(self, timeout: float = 60.0) -> int:
        """Create the topic if missing, then read it to its end; returns the number of keys."""
        started = time.monotonic()
        ensure_state_topic(self.bootstrap, self.topic, timeout)
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"state-loader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )
        try:
            self._data = _read_to_end(consumer, self.topic, started + timeout)
        finally:
            consumer.close()
        self._dirty.clear()
        log.info(
            "state loaded",
            extra={
                "topic": self.topic,
                "keys": len(self._data),
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        return len(self._data)


def _read_to_end(consumer: Consumer, topic: str, deadline: float) -> dict[str, bytes]:
    metadata = consumer.list_topics(topic, timeout=max(1.0, deadline - time.monotonic()))
    partitions = sorted(metadata.topics[topic].partitions)
    remaining: dict[int, int] = {}
    assignment = []
    for p in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high > low:
            remaining[p] = high
            assignment.append(TopicPartition(topic, p, low))
    data: dict[str, bytes] = {}
    if not assignment:
        return data
    consumer.assign(assignment)
    while remaining:
        if time.monotonic() > deadline:
            raise TimeoutError(f"state topic {topic} not read to its end in time")
        for msg in consumer.consume(1000, 0.5):
            error = msg.error()
            if error is not None:
                raise KafkaException(error)
            key = (msg.key() or b"").decode()
            value = msg.value()
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        # the position, not the last offset seen: compaction leaves gaps, also at the tail
        for tp in consumer.position([TopicPartition(topic, p) for p in list(remaining)]):
            if tp.offset >= remaining[tp.partition]:
                del remaining[tp.partition]
    return data


def ensure_state_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> None:
    """Create the compacted state topic unless it exists."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if topic in admin.list_topics(timeout=timeout).topics:
        return
    new = NewTopic(topic, num_partitions=1, replication_factor=1, config=STATE_TOPIC_CONFIG)
    for future in admin.create_topics([new], request_timeout=timeout).values():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
