"""Start a consumer group at the current end of topics (tests and the demo, never production).

A fresh end-to-end run must not first replay what earlier test runs left on the shared local
broker; committing the high watermarks for the run's groups before the services start makes
them begin with "now", deterministically (no race with partition assignment).
"""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition


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
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                offsets.append(TopicPartition(topic, partition, high))
        if offsets:
            consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()
