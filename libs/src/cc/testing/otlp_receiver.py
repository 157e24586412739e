"""A stdlib OTLP/HTTP (protobuf) trace receiver so tests can assert on the spans services export."""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import signal
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]  # no stubs here
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from cc.testing.local_server import LocalServer, Reply

PROTOBUF = "application/x-protobuf"
# Metrics and logs are accepted and dropped so a service exporting everything to one endpoint
# does not log export errors during `make run`.
_DISCARDED_PATHS = frozenset({"/v1/metrics", "/v1/logs"})


@dataclasses.dataclass(frozen=True)
class Span:
    """One received span, flattened to plain values."""

    service_name: str
    trace_id: str  # 32 hex chars
    span_id: str  # 16 hex chars
    parent_span_id: str  # 16 hex chars, or "" for a root span
    name: str
    kind: str  # INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER or UNSPECIFIED
    attributes: Mapping[str, Any]
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: str  # UNSET, OK or ERROR

    def to_json(self) -> dict[str, Any]:
        """The span as a JSON-able dict."""
        return dataclasses.asdict(self) | {"attributes": dict(self.attributes)}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return None if which is None else getattr(value, which)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def parse_export(body: bytes) -> list[Span]:
    """Decode a serialized ExportTraceServiceRequest into spans; raises DecodeError."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                span = Span(
                    service_name=service,
                    trace_id=s.trace_id.hex(),
                    span_id=s.span_id.hex(),
                    parent_span_id=s.parent_span_id.hex(),
                    name=s.name,
                    kind=SpanProto.SpanKind.Name(s.kind).removeprefix("SPAN_KIND_"),
                    attributes=_attributes(s.attributes),
                    start_time_unix_nano=s.start_time_unix_nano,
                    end_time_unix_nano=s.end_time_unix_nano,
                    status_code=Status.StatusCode.Name(s.status.code).removeprefix("STATUS_CODE_"),
                )
                spans.append(span)
    return spans


class OtlpReceiver(LocalServer):
    """Receives OTLP/HTTP trace exports on loopback and keeps the spans for assertions."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_span: Callable[[Span], None] | None = None,
    ) -> None:
        super().__init__(host, port)
        self._on_span = on_span
        self._cond = threading.Condition()
        self._spans: list[Span] = []

    @property
    def endpoint(self) -> str:
        """Base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT``; traces are POSTed to ``/v1/traces``."""
        return self.base_url

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """OTLP/HTTP protobuf exports; spans are the interesting output, so no log line."""
        if method != "POST" or path not in _DISCARDED_PATHS | {"/v1/traces"}:
            return Reply(404, b"not found", "text/plain")
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("content-type", "").split(";")[0].strip() != PROTOBUF:
            return Reply(415, b"only application/x-protobuf is supported", "text/plain")
        try:
            encoding = lower.get("content-encoding", "").strip().lower()
            if encoding == "gzip":
                raw = gzip.decompress(raw)
            elif encoding == "deflate":
                raw = zlib.decompress(raw)
            spans = parse_export(raw) if path == "/v1/traces" else []
        except (OSError, zlib.error, DecodeError) as exc:  # gzip raises BadGzipFile, an OSError
            return Reply(400, f"bad export: {exc}".encode(), "text/plain")
        self.add(spans)
        return Reply(200, ExportTraceServiceResponse().SerializeToString(), PROTOBUF)

    def spans(self) -> list[Span]:
        """All spans received so far, in arrival order."""
        with self._cond:
            return list(self._spans)

    def reset(self) -> None:
        """Forget the spans received so far."""
        with self._cond:
            self._spans = []

    def wait_for(self, predicate: Callable[[list[Span]], bool], timeout: float) -> list[Span]:
        """Block until `predicate(spans)` holds; raise TimeoutError listing what did arrive."""
        with self._cond:
            if self._cond.wait_for(lambda: predicate(list(self._spans)), timeout):
                return list(self._spans)
            seen = [f"{s.service_name}:{s.name}" for s in self._spans[-20:]]
            raise TimeoutError(
                f"spans not as expected after {timeout}s; got {len(self._spans)}, last: {seen}"
            )

    def add(self, spans: list[Span]) -> None:
        """Record spans (called by the HTTP handler) and wake waiters."""
        with self._cond:
            self._spans.extend(spans)
            self._cond.notify_all()
        if self._on_span is not None:
            for span in spans:
                self._on_span(span)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, writing a ready line and then one JSON line per span."""
    parser = argparse.ArgumentParser(description="Local OTLP/HTTP trace receiver.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=14318)
    args = parser.parse_args(argv)
    stop, out_lock = threading.Event(), threading.Lock()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def emit(line: Mapping[str, Any]) -> None:
        with out_lock:  # handler threads write concurrently; keep lines whole
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

    with OtlpReceiver(args.host, args.port, on_span=lambda s: emit(s.to_json())) as receiver:
        emit({"event": "otlp_receiver_ready", "endpoint": receiver.endpoint})
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
