"""The faust codec round-trips events; trace context travels through faust headers."""

import pytest
from faust.serializers import Registry, codecs
from faust.types.tuples import Message
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from cc.events import AlertReceived, DecodeError, SingleObjectSerde
from cc.kafka.faust_support import (
    AvroEventCodec,
    header_pairs,
    register_codec,
    trace_context,
    traced_headers,
)
from cc.testing.events import alert

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01".encode()


def test_codec_round_trips_an_alert() -> None:
    codec = AvroEventCodec(SingleObjectSerde())
    event = alert(fingerprint="0123456789abcdef")
    payload = codec.dumps(event)
    assert payload[:2] == b"\xc3\x01"  # the project's single-object encoding, not JSON
    decoded = codec.loads(payload)
    assert isinstance(decoded, AlertReceived)
    assert decoded == event


def test_registered_codec_works_by_name_and_chained() -> None:
    codec = register_codec(SingleObjectSerde(), name="cc-avro-test")
    event = alert()
    assert codecs.get_codec("cc-avro-test") is codec
    assert codecs.loads("cc-avro-test", codecs.dumps("cc-avro-test", event)) == event
    chained = codecs.get_codec("cc-avro-test|binary")  # clone keeps the serde
    assert chained.loads(chained.dumps(event)) == event
    # faust's value path with no value_type hands the event object through unchanged
    serializers = Registry(value_serializer="cc-avro-test")
    raw = serializers.dumps_value(None, event)
    assert serializers.loads_value(None, raw) == event


def test_codec_decode_error_is_the_serde_error() -> None:
    with pytest.raises(DecodeError):
        AvroEventCodec(SingleObjectSerde()).loads(b'{"not": "avro"}')


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": TRACEPARENT, "other": b"x"},
        [("other", b"x"), ("traceparent", TRACEPARENT)],
        {"traceparent": TRACEPARENT.decode()},  # faust accepts str values too
    ],
    ids=["dict", "list", "str-value"],
)
def test_trace_context_from_either_header_shape(headers: object) -> None:
    ctx = trace.get_current_span(trace_context(headers)).get_span_context()
    assert ctx.is_valid
    assert format(ctx.trace_id, "032x") == TRACE_ID


def test_trace_context_from_a_faust_message() -> None:
    message = Message(
        topic="t",
        partition=0,
        offset=0,
        timestamp=0.0,
        timestamp_type=0,
        headers=[("traceparent", TRACEPARENT)],
        key=None,
        value=b"",
        checksum=None,
    )
    ctx = trace.get_current_span(trace_context(message)).get_span_context()
    assert format(ctx.trace_id, "032x") == TRACE_ID


def test_no_headers_give_an_empty_context() -> None:
    assert header_pairs(None) == []
    assert not trace.get_current_span(trace_context([])).get_span_context().is_valid


def test_traced_headers_carry_the_active_span() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("relay") as span:
        headers = traced_headers()
    span_ctx = span.get_span_context()
    assert set(headers) >= {"traceparent"}
    assert isinstance(headers["traceparent"], bytes)
    version, trace_id, span_id, flags = headers["traceparent"].decode().split("-")
    assert version == "00"
    assert int(flags, 16) & 0x01  # sampled (newer SDKs also set 0x02, "random trace id")
    assert trace_id == format(span_ctx.trace_id, "032x")
    assert span_id == format(span_ctx.span_id, "016x")
    # and what it produces is what trace_context reads back
    back = trace.get_current_span(trace_context(headers)).get_span_context()
    assert back.trace_id == span_ctx.trace_id


def test_traced_headers_without_a_span_are_empty() -> None:
    assert traced_headers() == {}
