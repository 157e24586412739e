"""Health, readiness and Prometheus metrics endpoints, and serving an app beside a loop."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

ReadinessCheck = Callable[[], bool]
# FastAPI's own OpenTelemetry instrumentation makes ~5 spans per request (about half of a
# webhook's CPU time in bench/ingest); the services make the one span that matters themselves.
NO_NATIVE_TELEMETRY: Any = {"tracing": False, "metrics": False, "logs": False}


def ops_router(registry: CollectorRegistry, checks: dict[str, ReadinessCheck]) -> APIRouter:
    """`/healthz`, `/readyz` and `/metrics`. Unauthenticated: they reveal no data, only state."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process is serving (no auth)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz", summary="Readiness: Kafka (and Elasticsearch where used) reachable (no auth)"
    )
    async def readyz(response: Response) -> dict[str, object]:
        results = {}
        for name, check in checks.items():
            results[name] = await asyncio.to_thread(check)
        ready = all(results.values())
        response.status_code = 200 if ready else 503
        return {"status": "ready" if ready else "not ready", "checks": results}

    @router.get("/metrics", summary="Prometheus metrics (no auth)")
    async def metrics() -> Response:
        return Response(generate_latest(metrics_registry(registry)), media_type=CONTENT_TYPE_LATEST)

    return router


def metrics_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """This process's registry, or, with several worker processes behind one port
    (PROMETHEUS_MULTIPROC_DIR set), all workers' metrics added up."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return registry
    combined = CollectorRegistry()
    MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return combined


def ops_app(
    service: str,
    registry: CollectorRegistry,
    checks: dict[str, ReadinessCheck],
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """A FastAPI app with the operations endpoints and the service's own `routers`, if any."""
    app = FastAPI(title=service, version="0.1.0", telemetry=NO_NATIVE_TELEMETRY)
    app.include_router(ops_router(registry, checks))
    for router in routers:
        app.include_router(router)
    return app


class BackgroundServer:
    """uvicorn in a daemon thread, for services whose main thread runs a consumer loop."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.port = port
        self.thread = threading.Thread(target=self.server.run, name="http", daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        """Serve in the background; raise if the port cannot be bound (a service without its
        health endpoints must not run on silently)."""
        # uvicorn leaves signals alone off the main thread; the loop's thread owns them
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"HTTP server did not start on port {self.port}: see the log")
            time.sleep(0.02)  # uvicorn exposes `started` as a flag, not an event

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
