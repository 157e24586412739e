"""Start a consumer group at the current end of topics (tests and the demo, never production).

A fresh end-to-end run must not first replay what earlier test runs left on the shared local
broker; committing the high watermarks for the run's groups before the services start makes
them begin with "now", deterministically (no race with partition assignment).
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

# Right after topics are created on a fresh broker, leaders are still being elected.
TRANSIENT = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TIMED_OUT,
}


def high_watermark(consumer: Consumer, topic: str, partition: int, timeout: float = 30.0) -> int:
    """The partition's end offset, retrying while its leader is being elected."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            return int(high)
        except KafkaException as exc:
            if exc.args[0].code() not in TRANSIENT or time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # leader election has no event a client can wait on


def start_at_end(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit the high watermark of every partition of `topics` for `group`."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        offsets = []
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                high = high_watermark(consumer, topic, partition)
                offsets.append(TopicPartition(topic, partition, high))
        if offsets:
            consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


# While a group's coordinator moves (a loaded broker), `committed()` fails for a moment.
COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
}


def wait_consumed(bootstrap: str, group: str, topic: str, timeout: float = 30.0) -> None:
    """Until `group` has committed past everything now on `topic` (only asks the coordinator:
    without subscribe() this never joins the group)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        end = {p: high_watermark(consumer, topic, p) for p in partitions}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done = consumer.committed([TopicPartition(topic, p) for p in end], timeout=10)
            except KafkaException as exc:
                if exc.args[0].code() not in COORDINATOR_MOVING:
                    raise
                done = []
            if done and all(tp.offset >= end[tp.partition] for tp in done):
                return
            time.sleep(0.1)  # the broker offers no wait for "group committed past"
    finally:
        consumer.close()
    raise TimeoutError(f"{group} did not consume {topic} within {timeout}s")
