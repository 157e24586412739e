"""Replays the remediation and incident topics from their start into the API's read model,
then keeps following them (a background thread; no consumer group offsets are committed)."""

from __future__ import annotations

import logging
import threading
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from cc.events import DecodeError, Serde
from remediation_planner.api.read_model import PlanBook

log = logging.getLogger(__name__)
TOPICS = (
    "remediation.remediation-planned.v1",
    "remediation.remediation-decided.v1",
    "remediation.remediation-executed.v1",
    "incidents.incident-opened.v1",
    "incidents.incident-updated.v1",
    "incidents.incident-resolved.v1",
)


class TopicReplay:
    """Feeds a PlanBook from Kafka; `caught_up` is set once the start-time ends were reached."""

    def __init__(
        self, bootstrap: str, serde: Serde, book: PlanBook, topics: tuple[str, ...] = TOPICS
    ) -> None:
        self.book = book
        self.serde = serde
        self.topics = topics
        self.caught_up = threading.Event()
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"remediation-planner-api-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )
        self._thread = threading.Thread(target=self._run, name="plan-replay", daemon=True)

    def start(self) -> TopicReplay:
        """Assign every partition from its start and follow in the background."""
        metadata = self._consumer.list_topics(timeout=30)
        partitions: list[TopicPartition] = []
        self._ends: dict[tuple[str, int], int] = {}
        for topic in self.topics:
            for p in metadata.topics[topic].partitions:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), 10)
                if high > 0:
                    self._ends[(topic, p)] = high
                partitions.append(TopicPartition(topic, p, OFFSET_BEGINNING))
        self._consumer.assign(partitions)
        if not self._ends:
            self.caught_up.set()
        self._thread.start()
        return self

    def ready(self) -> bool:
        """Caught up with what the topics held at start (for /readyz)."""
        return self.caught_up.is_set()

    def wait(self, timeout: float) -> bool:
        """Block until caught up; False on timeout."""
        return self.caught_up.wait(timeout)

    def stop(self) -> None:
        """Stop following and close the consumer."""
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for msg in self._consumer.consume(500, 0.2):
                    if msg.error() is not None or msg.value() is None:
                        continue
                    topic, value = msg.topic() or "", msg.value() or b""
                    try:
                        self.book.apply(self.serde.decode(value, topic))
                    except DecodeError as exc:
                        log.warning(
                            "undecodable event skipped", extra={"topic": topic, "error": str(exc)}
                        )
                    key = (topic, msg.partition() or 0)
                    if key in self._ends and (msg.offset() or 0) + 1 >= self._ends[key]:
                        del self._ends[key]
                        if not self._ends:
                            self.caught_up.set()
                            log.info("plans read model caught up")
        finally:
            self._consumer.close()
