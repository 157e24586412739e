"""Run a consumer-loop service: signals, ops HTTP server, clean shutdown."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from prometheus_client import CollectorRegistry

from cc.events.registry import HttpRegistryClient
from cc.events.serde import RegistrySerde, Serde, SingleObjectSerde
from cc.kafka.consumer import ConsumerLoop
from cc.platform.http import BackgroundServer, ReadinessCheck, ops_app

log = logging.getLogger(__name__)


def make_serde(registry_url: str | None) -> Serde:
    """Registry framing when a registry is configured, single-object encoding otherwise."""
    if registry_url:
        return RegistrySerde(HttpRegistryClient(registry_url))
    return SingleObjectSerde()


def run_loop_service(
    service: str,
    loop: ConsumerLoop,
    *,
    registry: CollectorRegistry,
    host: str,
    port: int,
    extra_checks: dict[str, ReadinessCheck] | None = None,
) -> None:
    """Serve /healthz, /readyz, /metrics and run the loop until SIGTERM or SIGINT."""
    checks: dict[str, ReadinessCheck] = {"kafka": loop.ready, **(extra_checks or {})}
    server = BackgroundServer(ops_app(service, registry, checks), host, port)

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
