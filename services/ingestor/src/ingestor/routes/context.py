"""What every source route needs: settings, producer, metrics, tracer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from cc.kafka import EventProducer
from cc.platform.tracing import extract
from ingestor.config import Settings
from ingestor.metrics import IngestMetrics

# The answers every source route can give besides success; routes add or reword their own.
REJECTIONS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no credentials"},
    403: {"description": "wrong credentials"},
    413: {"description": "body too large"},
    415: {"description": "not application/json"},
    422: {"description": "invalid payload; `detail[].loc` names the field"},
    503: {"description": "Kafka did not acknowledge in time; retry after Retry-After"},
}


@dataclass(frozen=True)
class RouteContext:
    """Shared dependencies of the source routers."""

    settings: Settings
    producer: EventProducer
    metrics: IngestMetrics

    @contextmanager
    def handling(self, source: str, request: Request) -> Iterator[Span]:
        """A SERVER span continuing the sender's trace, and the latency of a handled request."""
        started = time.perf_counter()
        tracer = trace.get_tracer("ingestor")
        name = f"{request.method} {request.url.path}"
        with tracer.start_as_current_span(
            name, context=sender_context(request), kind=SpanKind.SERVER
        ) as span:
            yield span
        self.metrics.latency.labels(source).observe(time.perf_counter() - started)

    def accepted(self, source: str, events: int) -> None:
        """Count a request answered 2xx and the events Kafka holds for it."""
        self.metrics.accepted.labels(source).inc(events)
        self.metrics.requests.labels(source, "2xx").inc()


def sender_context(request: Request) -> Context:
    """Continue the sender's trace when it sent a `traceparent` header."""
    return extract([(k, v.encode("latin-1")) for k, v in request.headers.items()])
