"""OpenTelemetry set-up and W3C trace context carried in Kafka headers."""

from __future__ import annotations

import os
from collections.abc import Sequence

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

Headers = list[tuple[str, bytes]]


def setup_tracing(service_name: str) -> TracerProvider:
    """A tracer provider for this service; OTLP export when the standard OTEL_* variables ask."""
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    if _otlp_wanted():
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def _otlp_wanted() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "otlp")
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    return exporter == "otlp" and bool(endpoint) and os.environ.get("OTEL_SDK_DISABLED") != "true"


class _HeaderGetter(Getter[Sequence[tuple[str, bytes | None]]]):
    def get(self, carrier: Sequence[tuple[str, bytes | None]], key: str) -> list[str] | None:
        for name, value in carrier:
            if name == key and value is not None:
                return [value.decode("latin-1")]
        return None

    def keys(self, carrier: Sequence[tuple[str, bytes | None]]) -> list[str]:
        return [name for name, _ in carrier]


class _HeaderSetter(Setter[Headers]):
    def set(self, carrier: Headers, key: str, value: str) -> None:
        carrier[:] = [(k, v) for k, v in carrier if k != key]
        carrier.append((key, value.encode("latin-1")))


def extract(headers: Sequence[tuple[str, bytes | None]] | None) -> Context:
    """The trace context a message carries (an empty context when it carries none)."""
    return propagate.extract(headers or [], getter=_HeaderGetter())


def inject(headers: Headers, context: Context | None = None) -> Headers:
    """Add `traceparent` (and `tracestate`) for the current or given context to the headers."""
    propagate.inject(headers, context=context, setter=_HeaderSetter())
    return headers


def trace_id_hex(span: trace.Span | None = None) -> str:
    """The 32-hex trace id of a span (the current one by default), or '' when not recording."""
    ctx = (span or trace.get_current_span()).get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
