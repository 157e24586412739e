"""The ingestor's HTTP API: webhooks in, Avro events on Kafka, 2xx only once Kafka holds them."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from cc.kafka import EventProducer
from cc.platform.http import NO_NATIVE_TELEMETRY, ops_router
from ingestor.adapters.auth import SourceAuth
from ingestor.config import Settings
from ingestor.metrics import IngestMetrics
from ingestor.routes import alertmanager, argocd, generic, remote_write
from ingestor.routes.context import RouteContext

SOURCES_BY_PATH = {
    "/webhooks/alertmanager": "alertmanager",
    "/webhooks/argocd": "argocd",
    "/api/v1/write": "prometheus",
}


def create_app(settings: Settings, producer: EventProducer, registry: CollectorRegistry) -> FastAPI:
    """The FastAPI app; every route states its auth in its summary."""
    app = FastAPI(
        title="Command Center ingestor",
        version="0.1.0",
        description="Webhooks from Alertmanager, Argo CD and Prometheus into Kafka. "
        "2xx means Kafka holds the events; 503 means retry.",
        telemetry=NO_NATIVE_TELEMETRY,
    )
    metrics = IngestMetrics(registry)
    ctx = RouteContext(settings, producer, metrics)
    app.include_router(ops_router(registry, {"kafka": producer.ready}))
    for module, source in (
        (alertmanager, "alertmanager"),
        (argocd, "argocd"),
        (remote_write, "prometheus"),
        (generic, "generic"),
    ):
        app.include_router(module.router(ctx, SourceAuth(source, settings.credentials(source))))

    @app.exception_handler(HTTPException)
    async def count_rejects(request: Request, exc: HTTPException) -> Response:
        path = request.url.path
        source = (
            "generic"
            if path.startswith("/webhooks/generic/")
            else SOURCES_BY_PATH.get(path, "other")
        )
        metrics.requests.labels(source, str(exc.status_code)).inc()
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    return app
