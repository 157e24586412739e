"""The producer: idempotent, acks=all, and "done" only once the broker has acknowledged."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from opentelemetry.context import Context
from prometheus_client import CollectorRegistry, Counter, Histogram

from cc.events.serde import Event, Serde
from cc.platform.tracing import Headers, inject

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,  # implies acks=all, bounded in-flight, retries
    "acks": "all",
    "linger.ms": 5,  # librdkafka's "good general purpose setting"
    "compression.type": "lz4",
    "delivery.timeout.ms": 30000,
}


class ProduceError(RuntimeError):
    """The broker did not acknowledge a message (it is not in Kafka)."""


class ProducerMetrics:
    """Counters for produced messages, by topic and outcome."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.delivered = Counter(
            "cc_produced_total", "Messages acknowledged by Kafka", ["topic"], registry=registry
        )
        self.failed = Counter(
            "cc_produce_failed_total",
            "Messages Kafka did not acknowledge",
            ["topic"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "cc_produce_ack_seconds",
            "Time from produce to broker acknowledgement",
            registry=registry,
        )


class EventProducer:
    """Encode events, carry the trace in headers, and confirm delivery before reporting done.

    A background thread serves delivery callbacks, so callers may wait on futures (threads) or
    await them (asyncio) without polling themselves.
    """

    def __init__(
        self,
        bootstrap: str,
        serde: Serde,
        *,
        client_id: str,
        registry: CollectorRegistry | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        conf = {**PRODUCER_DEFAULTS, "bootstrap.servers": bootstrap, "client.id": client_id}
        conf.update(config or {})
        self._producer = Producer(conf)
        self.serde = serde
        self.metrics = ProducerMetrics(registry or CollectorRegistry())
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-producer-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def produce(
        self,
        topic: str,
        key: str,
        event: Event,
        *,
        headers: Sequence[tuple[str, bytes]] = (),
        context: Context | None = None,
    ) -> Future[Message]:
        """Queue one event; the future resolves when Kafka acknowledged it (or fails)."""
        value = self.serde.encode(event, topic)
        out: Headers = list(headers)
        out.append(("cc-event-type", event.SCHEMA.encode()))
        inject(out, context)
        return self._enqueue(topic, key.encode(), value, out)

    def _enqueue(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers
    ) -> Future[Message]:
        future: Future[Message] = Future()
        started = time.perf_counter()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            self.metrics.ack_seconds.observe(time.perf_counter() - started)
            if err is not None:
                self.metrics.failed.labels(topic).inc()
            else:
                self.metrics.delivered.labels(topic).inc()
            # the caller may have given up (a timed-out request cancels its future); the
            # callback must never raise, or it would kill the poll thread serving all callbacks
            with contextlib.suppress(InvalidStateError):
                if err is not None:
                    future.set_exception(ProduceError(f"{topic}: {err.str()}"))
                else:
                    future.set_result(msg)

        self._produce_with_backpressure(topic, key, value, headers, delivered)
        return future

    def _produce_with_backpressure(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=cast(Any, headers), on_delivery=on_delivery
                )
                return
            except BufferError:
                # local queue full: let the poll thread drain deliveries, then try again
                self._producer.flush(0.1)

    def produce_raw(
        self, topic: str, *, key: bytes | None, value: bytes | None, headers: Headers
    ) -> Future[Message]:
        """Queue bytes as they are (the dead-letter path); resolves on acknowledgement."""
        return self._enqueue(topic, key, value, headers)

    def send(self, topic: str, key: str, event: Event, *, timeout: float = 10.0) -> Message:
        """Produce one event and block until Kafka acknowledged it."""
        return self.produce(topic, key, event).result(timeout)

    async def send_batch_async(
        self, records: Sequence[tuple[str, str, Event]], *, context: Context | None = None
    ) -> None:
        """Produce (topic, key, event) records and await until Kafka acknowledged every one.

        One asyncio future for the whole batch (not one per message): the hot path of the
        ingestor, where a webhook's alerts are acknowledged together. Raises ProduceError on the
        first failure.
        """
        if not records:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        headers: Headers = [("cc-event-type", b"")]
        inject(headers, context)
        remaining = len(records)
        per_topic = collections.Counter(topic for topic, _, _ in records)
        lock = threading.Lock()

        def settle(error: ProduceError | None) -> None:
            if not done.done():
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)

        def delivered(err: KafkaError | None, msg: Message) -> None:
            # runs in the poll thread for every message: keep it to the bare minimum
            nonlocal remaining
            if err is not None:
                topic = msg.topic() or ""
                self.metrics.failed.labels(topic).inc()
                loop.call_soon_threadsafe(settle, ProduceError(f"{topic}: {err.str()}"))
                return
            with lock:
                remaining -= 1
                last = remaining == 0
            if last:
                for topic, count in per_topic.items():
                    self.metrics.delivered.labels(topic).inc(count)
                loop.call_soon_threadsafe(settle, None)

        for topic, key, event in records:
            headers[0] = ("cc-event-type", event.SCHEMA.encode())
            value = self.serde.encode(event, topic)
            self._produce_with_backpressure(topic, key.encode(), value, list(headers), delivered)
        await done

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for queued messages; returns how many are still undelivered."""
        remaining: int = self._producer.flush(timeout)
        return remaining

    def ready(self, timeout: float = 2.0) -> bool:
        """Whether the broker answers a metadata request."""
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException:
            return False
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued, then stop the poll thread."""
        self._producer.flush(timeout)
        self._stop.set()
        self._poller.join(timeout=2)
