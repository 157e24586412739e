"""The Kafka-backed delivery log: `notifications.notification-sent.v1` read back at start-up."""

from __future__ import annotations

import logging
import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition
from opentelemetry.context import Context

from cc.events import DecodeError, NotificationSent, Serde
from cc.kafka import EventProducer, ProduceError, RetryableError
from notifier.domain.slack_threads import ts_of

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 5.0
ROOT_SUFFIX = ":opened"
"""Dedup keys of thread roots (an incident's opening): only their Slack ts is kept."""


class KafkaDeliveryLog:
    """Produces intents to the NotificationSent topic and waits for Kafka's acknowledgement."""

    def __init__(self, producer: EventProducer, topic: str, *, timeout_s: float = 30.0) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout_s = timeout_s

    def record(self, event: NotificationSent) -> None:
        """Durable once this returns; Kafka trouble pauses the batch instead of sending blind."""
        # an empty context: the intent is bookkeeping, kept out of the incident's trace (the
        # outcome record is the one that belongs to it)
        future = self.producer.produce(self.topic, event.dedup_key, event, context=Context())
        try:
            future.result(self.timeout_s)
        except (ProduceError, TimeoutError) as exc:
            raise RetryableError(f"delivery log unavailable: {exc}") from exc


class KafkaSentKeys:
    """Reads the whole topic up to its current end, once, with a deadline."""

    def __init__(self, bootstrap: str, serde: Serde, topic: str, *, timeout_s: float) -> None:
        self.bootstrap = bootstrap
        self.serde = serde
        self.topic = topic
        self.timeout_s = timeout_s
        self.threads: dict[str, str] = {}
        """After `read()`: dedup key of each delivered root message -> its Slack ts."""

    def read(self) -> dict[str, str]:
        """Dedup key -> last status; raises TimeoutError rather than start with a partial view."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"notifier-delivery-log-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )
        try:
            return self._read(consumer)
        finally:
            consumer.close()

    def _read(self, consumer: Consumer) -> dict[str, str]:
        started = time.monotonic()
        deadline = started + self.timeout_s
        try:
            meta = consumer.list_topics(self.topic, timeout=self.timeout_s)
            partitions = sorted(meta.topics[self.topic].partitions)
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)
                for p in partitions
            }
        except KafkaException as exc:
            raise RuntimeError(f"cannot read {self.topic}: {exc}") from exc
        remaining = {p: high for p, (low, high) in ends.items() if high > low}
        total = sum(high - low for low, high in ends.values())
        consumer.assign([TopicPartition(self.topic, p, ends[p][0]) for p in remaining])
        statuses: dict[str, str] = {}
        read, next_progress = 0, started + PROGRESS_EVERY_S
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"read {read} of {total} records of {self.topic} in {self.timeout_s}s"
                )
            for msg in consumer.consume(500, 0.5):
                if msg.error() is not None:
                    continue
                read += 1
                partition, offset = msg.partition() or 0, msg.offset() or 0
                if offset + 1 >= remaining.get(partition, 0):
                    remaining.pop(partition, None)
                try:
                    event = self.serde.decode(msg.value() or b"", self.topic)
                except DecodeError:
                    continue  # not ours to judge: the auditor dead-letters it
                if isinstance(event, NotificationSent):
                    statuses[event.dedup_key] = _later(statuses.get(event.dedup_key), event.status)
                    self._keep_thread(event)
            # an offset can be a gap (retention, compaction): the position says we are past it
            for tp in consumer.position([TopicPartition(self.topic, p) for p in remaining]):
                if tp.offset >= remaining[tp.partition]:
                    remaining.pop(tp.partition, None)
            if time.monotonic() > next_progress:
                log.info("reading delivery log", extra={"read": read, "total": total})
                next_progress += PROGRESS_EVERY_S
        log.info(
            "delivery log read",
            extra={"records": read, "keys": len(statuses), "seconds": time.monotonic() - started},
        )
        return statuses

    def _keep_thread(self, event: NotificationSent) -> None:
        """Remember where an incident's Slack thread is: the ts of its delivered root."""
        if event.status != "delivered" or not event.dedup_key.endswith(ROOT_SUFFIX):
            return
        if (ts := ts_of(event.response)) is not None:
            self.threads[event.dedup_key] = ts


def _later(before: str | None, status: str) -> str:
    """An outcome is never overwritten by a later intent (a retried batch records both)."""
    if before is not None and before != "sending" and status == "sending":
        return before
    return status
