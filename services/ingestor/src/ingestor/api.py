"""The ingestor's HTTP API: webhooks in, Avro events on Kafka, 202 only once Kafka holds them."""

from __future__ import annotations

import asyncio
import time

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from cc.kafka import EventProducer, ProduceError
from cc.platform.http import ops_router
from cc.platform.tracing import extract
from ingestor.adapters.auth import BearerAuth
from ingestor.adapters.body import read_json_body
from ingestor.config import Settings
from ingestor.contracts import AlertmanagerWebhook
from ingestor.domain.alerts import alerts_from_webhook
from ingestor.metrics import IngestMetrics

ALERTS_TOPIC = "alerts.alert-received.v1"


def create_app(settings: Settings, producer: EventProducer, registry: CollectorRegistry) -> FastAPI:
    """The FastAPI app; every route states its auth in its summary."""
    app = FastAPI(
        title="Command Center ingestor",
        version="0.1.0",
        description="Webhooks from Alertmanager (and, later, Argo CD and Prometheus) into Kafka.",
    )
    metrics = IngestMetrics(registry)
    tracer = trace.get_tracer("ingestor.api")
    alertmanager_auth = BearerAuth("alertmanager", settings.alertmanager_secret())
    app.include_router(ops_router(registry, {"kafka": producer.ready}))

    @app.exception_handler(HTTPException)
    async def count_rejects(request: Request, exc: HTTPException) -> Response:
        source = request.url.path.rsplit("/", 1)[-1]
        metrics.requests.labels(source, str(exc.status_code)).inc()
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.post(
        "/webhooks/alertmanager",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Alertmanager webhook v4 (auth: bearer token)",
        dependencies=[Depends(alertmanager_auth)],
        responses={
            401: {"description": "no bearer token"},
            403: {"description": "wrong token"},
            413: {"description": "body too large"},
            415: {"description": "not application/json"},
            422: {"description": "invalid payload; `detail[].loc` names the field"},
            503: {"description": "Kafka did not acknowledge in time; retry after Retry-After"},
        },
    )
    async def alertmanager_webhook(request: Request) -> dict[str, object]:
        started = time.perf_counter()
        with tracer.start_as_current_span(
            "POST /webhooks/alertmanager", context=extract_http(request), kind=SpanKind.SERVER
        ) as span:
            payload = await read_json_body(
                request, AlertmanagerWebhook, max_bytes=settings.max_body_bytes
            )
            if payload.truncated_alerts:
                metrics.truncated.labels(payload.receiver).inc(payload.truncated_alerts)
            events = alerts_from_webhook(payload)
            span.set_attribute("cc.alerts", len(events))
            sends = [producer.send_async(ALERTS_TOPIC, e.fingerprint, e) for e in events]
            try:
                await asyncio.wait_for(asyncio.gather(*sends), settings.kafka_ack_timeout_s)
            except (TimeoutError, ProduceError) as exc:
                span.record_exception(exc)
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    detail="Kafka did not acknowledge the events; nothing was accepted, retry",
                    headers={"Retry-After": str(settings.retry_after_s)},
                ) from exc
        metrics.accepted.labels("alertmanager").inc(len(events))
        metrics.requests.labels("alertmanager", "202").inc()
        metrics.latency.labels("alertmanager").observe(time.perf_counter() - started)
        return {
            "accepted": len(events),
            "event_ids": [e.metadata.event_id for e in events],
            "truncated_alerts": payload.truncated_alerts,
        }

    return app


def extract_http(request: Request) -> Context:
    """Continue the sender's trace when it sent a `traceparent` header."""
    headers = [(k, v.encode("latin-1")) for k, v in request.headers.items()]
    return extract(headers)
