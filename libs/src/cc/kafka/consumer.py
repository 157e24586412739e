"""The consumer loop: decode -> skip duplicates -> handle -> produce -> commit.

At-least-once: offsets are committed only after the handler finished and everything it produced
was acknowledged by Kafka. A message that cannot be decoded or handled goes to the service's
dead-letter topic with the error in its headers; the loop moves on. A `RetryableError` (a
dependency is down) pauses consumption and retries the same batch until it succeeds or the
service is stopped, committing nothing meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from cc.events.serde import DecodeError, Event, Serde
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.producer import EventProducer
from cc.platform.tracing import extract

log = logging.getLogger(__name__)

CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "partition.assignment.strategy": "cooperative-sticky",
    "enable.partition.eof": False,
}


# A loop that has not polled for this long is stuck (a handler hanging), so not ready.
POLL_STALL_S = 120.0


class RetryableError(RuntimeError):
    """A dependency is unavailable: retry the batch later, commit nothing."""


@dataclass
class Received:
    """A decoded message and where it came from."""

    event: Event
    topic: str
    partition: int
    offset: int
    key: str
    headers: list[tuple[str, bytes]]
    span: Span
    raw: bytes = b""
    error: Exception | None = None
    """Set by a handler that cannot process this message: it goes to the dead-letter topic."""


@dataclass(frozen=True)
class Outgoing:
    """An event a handler wants produced, traced as a child of the message that caused it."""

    topic: str
    key: str
    event: Event
    cause: Received | None = None


Handler = Callable[[Received], Sequence[Outgoing]]
BatchHandler = Callable[[list[Received]], Sequence[Outgoing]]
Tick = Callable[[datetime], Sequence[Outgoing]]
"""Time-driven work (a storm ending, a quiet period over): called with the wall clock's now."""
BeforeCommit = Callable[[], Sequence["Future[Message]"]]
"""Called once a batch's outputs are acknowledged; its futures are awaited before the commit
(a state store's `flush`)."""


@dataclass
class LoopConfig:
    """What the loop consumes and how."""

    service: str
    group_id: str
    topics: list[str]
    dead_letter_topic: str
    bootstrap: str
    batch_size: int = 500
    poll_timeout: float = 0.2
    retry_backoff: tuple[float, float] = (0.2, 10.0)
    dedup_capacity: int = 100_000
    consumer_config: dict[str, Any] = field(default_factory=dict)


class SeenIds:
    """Recently handled event ids (bounded), to skip redelivered duplicates cheaply."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, event_id: str) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class ConsumerLoop:
    """Runs a handler over topics until stopped; see the module docstring for the guarantees."""

    def __init__(
        self,
        config: LoopConfig,
        serde: Serde,
        producer: EventProducer,
        *,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        metrics: ConsumerMetrics,
        before_commit: BeforeCommit | None = None,
        tick: Tick | None = None,
        tick_interval: float = 1.0,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler or batch_handler")
        self.config = config
        self.serde = serde
        self.producer = producer
        self.metrics = metrics
        self._handler = handler
        self._handle_batch: BatchHandler = batch_handler or self._handle_each
        self._seen = SeenIds(config.dedup_capacity)
        self._before_commit = before_commit
        self._tick = tick
        self._tick_interval = tick_interval
        self._next_tick = time.monotonic() + tick_interval
        self._stop = threading.Event()
        self._tracer = trace.get_tracer(f"cc.kafka.{config.service}")
        conf = {
            **CONSUMER_DEFAULTS,
            "bootstrap.servers": config.bootstrap,
            "group.id": config.group_id,
            "client.id": config.service,
        }
        conf.update(config.consumer_config)
        self._consumer = Consumer(conf)
        self.assigned = threading.Event()
        self._last_poll = time.monotonic()

    def stop(self) -> None:
        """Ask the loop to finish the current batch, commit and leave the group."""
        self._stop.set()

    def ready(self, timeout: float = 2.0) -> bool:
        """The loop is polling and the broker answers (used by /readyz).

        The broker is asked through the producer: a metadata call on the consumer's own handle
        from another thread blocks while `consume()` runs (seen with confluent-kafka 2.16).
        """
        polling = time.monotonic() - self._last_poll < POLL_STALL_S
        return polling and self.producer.ready(timeout)

    def run(self) -> None:
        """Consume until `stop()`; always closes the consumer (leaving the group)."""
        self._consumer.subscribe(self.config.topics, on_assign=self._on_assign)
        try:
            while not self._stop.is_set():
                self._last_poll = time.monotonic()
                # wait for the first message only, then take what is already fetched: batches
                # under load, no added latency (consume(n, t) would wait for n or t at low load)
                messages = self._consumer.consume(1, self.config.poll_timeout)
                if messages:
                    messages += self._consumer.consume(self.config.batch_size - 1, 0)
                    self._process(messages)
                if self._tick is not None and time.monotonic() >= self._next_tick:
                    self._run_tick(self._tick)
        finally:
            self._consumer.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned.set()

    def _process(self, messages: list[Message]) -> None:
        items: list[Received] = []
        offsets: dict[tuple[str, int], int] = {}
        dead: list[Future[Message]] = []
        batch_ids: set[str] = set()
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error", extra={"error": error.str()})
                continue
            item = _as_received(msg)
            offsets[(item.topic, item.partition)] = item.offset + 1
            self.metrics.consumed.labels(item.topic).inc()
            try:
                item.event = self.serde.decode(item.raw, item.topic)
            except DecodeError as exc:
                dead.append(self._dead_letter(item, "decode", exc))
                continue
            event_id = item.event.metadata.event_id
            if self._seen.seen(event_id) or event_id in batch_ids:
                self.metrics.duplicates.labels(item.topic).inc()
                continue
            item.span = self._tracer.start_span(
                f"{item.topic} process",
                context=extract(item.headers),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": item.topic,
                    "messaging.kafka.offset": item.offset,
                    "messaging.message.id": event_id,
                    "cc.event.type": item.event.SCHEMA,
                },
            )
            items.append(item)
            batch_ids.add(event_id)
        outgoing = self._handle_with_retry(items) if items else []
        if outgoing is None:
            return  # stopped while a dependency was down: commit nothing, redelivered later
        dead += [self._dead_letter(i, "handle", i.error) for i in items if i.error is not None]
        for future in [*self._produce_all(outgoing), *dead]:
            future.result(timeout=60)  # ProduceError stops the service: nothing is committed
        self._flush_state()
        self._commit(offsets)
        for item in items:
            self._seen.add(item.event.metadata.event_id)
            item.span.end()

    def _run_tick(self, tick: Tick) -> None:
        """Produce what the time-driven work returns, then flush state; nothing to commit."""
        self._next_tick = time.monotonic() + self._tick_interval
        for future in self._produce_all(tick(datetime.now(UTC))):
            future.result(timeout=60)
        self._flush_state()

    def _produce_all(self, outgoing: Sequence[Outgoing]) -> list[Future[Message]]:
        return [
            self.producer.produce(
                out.topic,
                out.key,
                out.event,
                context=None if out.cause is None else trace.set_span_in_context(out.cause.span),
            )
            for out in outgoing
        ]

    def _flush_state(self) -> None:
        if self._before_commit is not None:
            for future in self._before_commit():
                future.result(timeout=60)

    def _handle_with_retry(self, items: list[Received]) -> Sequence[Outgoing] | None:
        """The handler's result, retrying on RetryableError; None if stopped meanwhile."""
        delay, cap = self.config.retry_backoff
        while True:
            started = time.perf_counter()
            try:
                result = self._handle_batch(items)
                self.metrics.handle_seconds.observe(time.perf_counter() - started)
                return result
            except RetryableError as exc:
                self.metrics.retries.inc()
                log.warning(
                    "dependency unavailable, retrying batch",
                    extra={"error": str(exc), "delay_s": delay},
                )
                if self._wait_paused(delay):
                    return None
                delay = min(delay * 2, cap)

    def _wait_paused(self, seconds: float) -> bool:
        """Pause fetching but keep serving the group protocol; True if asked to stop meanwhile."""
        assignment = self._consumer.assignment()
        self._consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                if self._stop.is_set():
                    return True
                self._last_poll = time.monotonic()
                self._consumer.poll(min(0.1, max(0.0, deadline - time.monotonic())))
        finally:
            self._consumer.resume(assignment)
        return False

    def _handle_each(self, items: list[Received]) -> list[Outgoing]:
        assert self._handler is not None
        results: list[Outgoing] = []
        for item in items:
            with trace.use_span(item.span, end_on_exit=False):
                try:
                    results.extend(self._handler(item))
                except RetryableError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any handler failure is a poison message
                    item.span.record_exception(exc)
                    item.span.set_status(trace.StatusCode.ERROR)
                    item.error = exc
        return results

    def _dead_letter(self, item: Received, stage: str, exc: Exception) -> Future[Message]:
        self.metrics.dead_lettered.labels(item.topic, stage).inc()
        log.error(
            "message dead-lettered",
            extra={
                "topic": item.topic,
                "partition": item.partition,
                "offset": item.offset,
                "stage": stage,
                "error": f"{type(exc).__name__}: {exc}",
            },
        )
        return self.producer.produce_raw(
            self.config.dead_letter_topic,
            key=item.key.encode(),
            value=item.raw,
            headers=[
                *item.headers,
                ("cc-dlq-stage", stage.encode()),
                ("cc-dlq-error-class", type(exc).__name__.encode()),
                ("cc-dlq-error-message", str(exc)[:2000].encode()),
                ("cc-dlq-stacktrace", "".join(traceback.format_exception(exc))[-4000:].encode()),
                ("cc-dlq-original-topic", item.topic.encode()),
                ("cc-dlq-original-partition", str(item.partition).encode()),
                ("cc-dlq-original-offset", str(item.offset).encode()),
                ("cc-dlq-consumer-group", self.config.group_id.encode()),
            ],
        )

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        if not offsets:
            return
        partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        self._consumer.commit(offsets=partitions, asynchronous=False)
        self.metrics.committed.inc(len(partitions))


def _as_received(msg: Message) -> Received:
    """The message's coordinates and bytes; the event is filled in once decoded."""
    # confluent-kafka returns headers as a list of (str, bytes | None) pairs
    pairs = cast(list[tuple[str, bytes | None]], msg.headers() or [])
    headers = [(k, v or b"") for k, v in pairs]
    return Received(
        event=None,  # type: ignore[arg-type]  # set right after decoding
        topic=msg.topic() or "",
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
        key=(msg.key() or b"").decode(errors="replace"),
        headers=headers,
        span=trace.INVALID_SPAN,
        raw=msg.value() or b"",
    )
