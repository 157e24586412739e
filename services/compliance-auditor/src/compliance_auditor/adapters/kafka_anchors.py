"""Reading the published chain heads (the anchor topic) from the start to its current end."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from cc.events import AuditAnchor, DecodeError, Serde
from cc.kafka.state import ensure_state_topic
from compliance_auditor.domain.verification import Anchor


def read_anchors(
    bootstrap: str, topic: str, trail: str, serde: Serde, timeout: float = 60.0
) -> list[Anchor]:
    """Every anchor of `trail` on the topic (no consumer group: nothing is committed)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"audit-verify-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        starts: dict[int, int] = {}
        ends: dict[int, int] = {}
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                starts[partition], ends[partition] = low, high
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in ends])
        anchors: list[Anchor] = []
        deadline = time.monotonic() + timeout
        position: dict[int, int] = {}
        while any(position.get(p, -1) < end - 1 for p, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"anchors of {topic} not read to the end in {timeout}s")
            for msg in consumer.consume(500, 0.5):
                if msg.error() is not None:
                    continue
                position[msg.partition() or 0] = msg.offset() or 0
                try:
                    event = serde.decode(msg.value() or b"", topic)
                except DecodeError:
                    continue
                if isinstance(event, AuditAnchor) and event.trail == trail:
                    anchors.append(Anchor(event.stream, event.seq, event.hash, event.head_event_id))
        return anchors
    except KafkaException as exc:
        raise ConnectionError(f"cannot read anchors from {topic}: {exc}") from exc
    finally:
        consumer.close()


def ensure_anchor_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> None:
    """The anchor topic, compacted: the latest anchor of every stream is kept for good (and it
    covers everything before it: a rewrite of any earlier record changes the head's hash)."""
    ensure_state_topic(bootstrap, topic, timeout)  # created compacted when missing
    compact = ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[compact])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout)  # a topic made by `make topics` is compacted from now on
