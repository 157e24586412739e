"""Run a consumer-loop service: signals, ops HTTP server, clean shutdown."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from fastapi import APIRouter
from prometheus_client import CollectorRegistry

from cc.events.compat import older_writers
from cc.events.registry import HttpRegistryClient
from cc.events.serde import RegistrySerde, Serde, SingleObjectSerde
from cc.kafka.consumer import (
    BatchHandler,
    BeforeCommit,
    ConsumerLoop,
    Handler,
    LoopConfig,
    Tick,
)
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.producer import EventProducer
from cc.kafka.topics import dead_letter_topic
from cc.platform.http import BackgroundServer, ReadinessCheck, ops_app
from cc.platform.logging import setup_logging
from cc.platform.settings import ServiceSettings
from cc.platform.tracing import setup_tracing

log = logging.getLogger(__name__)


def make_serde(registry_url: str | None) -> Serde:
    """Registry framing when a registry is configured, single-object encoding otherwise."""
    if registry_url:
        return RegistrySerde(HttpRegistryClient(registry_url))
    return SingleObjectSerde(older=older_writers())


def serve_consumer(
    service: str,
    settings: ServiceSettings,
    *,
    topics: list[str],
    port: int,
    handler: Handler | None = None,
    batch_handler: BatchHandler | None = None,
    extra_checks: dict[str, ReadinessCheck] | None = None,
    registry: CollectorRegistry | None = None,
    producer: EventProducer | None = None,
    before_commit: BeforeCommit | None = None,
    tick: Tick | None = None,
    tick_interval: float = 1.0,
    routers: Sequence[APIRouter] = (),
) -> None:
    """Compose and run a consumer service: serde, producer, loop, ops endpoints (plus the
    service's own `routers`, served on the same port)."""
    registry = registry or CollectorRegistry()
    serde = make_serde(settings.schema_registry_url)
    producer = producer or EventProducer(
        settings.kafka_bootstrap, serde, client_id=service, registry=registry
    )
    config = loop_config(service, settings, topics=topics)
    loop = ConsumerLoop(
        config,
        serde,
        producer,
        handler=handler,
        batch_handler=batch_handler,
        metrics=ConsumerMetrics(registry),
        before_commit=before_commit,
        tick=tick,
        tick_interval=tick_interval,
    )
    run_loop_service(
        service,
        loop,
        registry=registry,
        host=settings.http_host,
        port=port,
        extra_checks=extra_checks,
        routers=routers,
    )


def loop_config(
    service: str, settings: ServiceSettings, *, topics: list[str], group_id: str | None = None
) -> LoopConfig:
    """A loop's config from the service's settings (group: given, configured, or the service)."""
    return LoopConfig(
        service=service,
        group_id=group_id or settings.consumer_group or service,
        topics=topics,
        dead_letter_topic=dead_letter_topic(service),
        bootstrap=settings.kafka_bootstrap,
        batch_size=settings.consumer_batch_size,
        consumer_config=consumer_overrides(settings),
    )


def consumer_overrides(settings: ServiceSettings) -> dict[str, object]:
    """librdkafka settings that come from the service's settings."""
    overrides: dict[str, object] = {"session.timeout.ms": settings.consumer_session_timeout_ms}
    if settings.consumer_instance_id:
        overrides["group.instance.id"] = settings.consumer_instance_id
    return overrides


def run_loop_service(
    service: str,
    loop: ConsumerLoop,
    *,
    registry: CollectorRegistry,
    host: str,
    port: int,
    extra_checks: dict[str, ReadinessCheck] | None = None,
    routers: Sequence[APIRouter] = (),
) -> None:
    """Serve /healthz, /readyz, /metrics and `routers`; run the loop until SIGTERM or SIGINT."""
    checks: dict[str, ReadinessCheck] = {"kafka": loop.ready, **(extra_checks or {})}
    server = BackgroundServer(ops_app(service, registry, checks, routers), host, port)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        loop.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    log.info("started", extra={"http": f"http://{host}:{port}", "topics": loop.config.topics})
    try:
        loop.run()
    finally:
        loop.producer.close()
        server.stop()
        log.info("stopped")


def run_loops_service(
    service: str,
    loops: Sequence[ConsumerLoop],
    *,
    registry: CollectorRegistry,
    host: str,
    port: int,
    extra_checks: dict[str, ReadinessCheck] | None = None,
    routers: Sequence[APIRouter] = (),
) -> None:
    """Run several loops, one thread each, until SIGTERM or SIGINT or until one of them fails.

    Each loop keeps its own consumer group and commit position, so a loop paused on a
    dependency does not hold up the others. Ready when every loop is. A loop that raises (a
    produce error stops a service) stops the others, and its error is raised once all are joined.
    """
    checks: dict[str, ReadinessCheck] = {
        "kafka": lambda: all(loop.ready() for loop in loops),
        **(extra_checks or {}),
    }
    server = BackgroundServer(ops_app(service, registry, checks, routers), host, port)
    finished = threading.Event()
    errors: list[BaseException] = []

    def stop_all() -> None:
        for loop in loops:
            loop.stop()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop_all()
        finished.set()

    def run(loop: ConsumerLoop) -> None:
        try:
            loop.run()
        except BaseException as exc:
            log.exception("consumer loop failed", extra={"group": loop.config.group_id})
            errors.append(exc)
        finally:
            finished.set()  # one loop ending (failed or stopped) ends the service

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    threads = [
        threading.Thread(target=run, args=(loop,), name=loop.config.group_id, daemon=True)
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    log.info(
        "started",
        extra={
            "http": f"http://{host}:{port}",
            "groups": [loop.config.group_id for loop in loops],
        },
    )
    try:
        while not finished.wait(0.5):  # a timed wait: signal handlers run in the main thread
            pass
    finally:
        stop_all()
        for thread in threads:
            thread.join()
        for producer in {id(loop.producer): loop.producer for loop in loops}.values():
            producer.close()  # once each, however many loops share it
        server.stop()
        log.info("stopped")
    if errors:
        raise errors[0]


def start_platform(service: str, settings: ServiceSettings) -> None:
    """JSON logging and tracing for this process; call first thing in `main`."""
    setup_logging(service, settings.log_level)
    setup_tracing(service)
