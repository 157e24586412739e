"""The OTLP receiver decodes what the real OTLP/HTTP exporter sends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from cc.testing.otlp_receiver import OtlpReceiver, Span


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


def _export_parent_and_child(receiver: OtlpReceiver, compression: Compression) -> None:
    exporter = OTLPSpanExporter(
        endpoint=receiver.endpoint + "/v1/traces", compression=compression, timeout=5
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "notifier"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("handle", kind=SpanKind.CONSUMER) as parent:
        parent.set_attribute("alert.count", 2)
        with tracer.start_as_current_span("post", attributes={"slack.ok": True}):
            pass
    provider.shutdown()


def _both_arrived(spans: list[Span]) -> bool:
    return {s.name for s in spans} >= {"handle", "post"}


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_parent_and_child_arrive_linked(receiver: OtlpReceiver, compression: Compression) -> None:
    _export_parent_and_child(receiver, compression)
    spans = {s.name: s for s in receiver.wait_for(_both_arrived, timeout=5.0)}
    parent, child = spans["handle"], spans["post"]
    assert parent.service_name == child.service_name == "notifier"
    assert parent.trace_id == child.trace_id
    assert (len(parent.trace_id), len(parent.span_id)) == (32, 16)
    assert child.parent_span_id == parent.span_id
    assert parent.parent_span_id == ""
    assert (parent.kind, child.kind) == ("CONSUMER", "INTERNAL")
    assert parent.attributes == {"alert.count": 2}
    assert child.attributes == {"slack.ok": True}
    assert 0 < parent.start_time_unix_nano <= child.start_time_unix_nano
    assert child.end_time_unix_nano <= parent.end_time_unix_nano


def test_wait_for_times_out_with_summary(receiver: OtlpReceiver) -> None:
    with pytest.raises(TimeoutError, match="got 0"):
        receiver.wait_for(_both_arrived, timeout=0.01)


def test_rejects_garbage_and_unknown_paths(receiver: OtlpReceiver) -> None:
    headers = {"Content-Type": "application/x-protobuf"}
    with httpx.Client(trust_env=False, timeout=5.0) as http:
        bad = http.post(receiver.endpoint + "/v1/traces", content=b"\xff\xff\xff", headers=headers)
        assert bad.status_code == 400
        assert http.post(receiver.endpoint + "/nope", headers=headers).status_code == 404
        metrics = http.post(receiver.endpoint + "/v1/metrics", content=b"", headers=headers)
        assert metrics.status_code == 200
    assert receiver.spans() == []
