"""remote_write: snappy and protobuf decoding against reference encoders, the allow-list, batches
with stable ids, and `POST /api/v1/write` answering 204 only once Kafka holds the events."""

from __future__ import annotations

import base64
import math
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from prometheus_client import CollectorRegistry

from cc.testing.fakes import RecordingProducer
from ingestor.api import create_app
from ingestor.config import Settings
from ingestor.domain import snappy
from ingestor.domain.protobuf_wire import WireError, decode_write_request
from ingestor.domain.remote_write import (
    AllowListError,
    batches_from_request,
    parse_allowlist,
)
from ingestor.routes.remote_write import ALLOWLIST_ENV, DROPPED_HEADER

TOKEN = "prom-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEADERS = {
    **AUTH,
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = 1_795_695_432_262
INSTANCE = "127.0.0.1:35727"
STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]

# What Prometheus 2.42 (Debian 12) sent when scraping a target with these four gauges:
# cc_test_queue_depth{service="checkout"} 42, ...{service="billing"} 7,
# cc_test_not_allowed{service="checkout"} 13, cc_test_zero 0 -- plus up and scrape_* series.
PROMETHEUS_BODY = base64.b64decode(
    "sQfweQp2Ch8KCF9fbmFtZV9fEhNjY190ZXN0X3F1ZXVlX2RlcHRoChsKCGluc3RhbmNlEg8xMjcuMC4wLjE6MzU3"
    "MjcKDwoDam9iEgh0YXJnZXQtMAoTCgdzZXJ2aWNlEghjaGVja291dBIQCQAAAAAAAEVAEMakp76hNAp1/ngAPngA"
    "ABIZeBwHYmlsbGluZxV3CBxAEA13Wu8AKG5vdF9hbGxvd2Vk/u8ALu8AACoVeAhRChg9ZwAMMWcMemVyb7ZxAAQS"
    "BxHLCFAKDh1TCAJ1cLpJAAQQCSWTCADwPxFSCGUKIx1SXBdzY3JhcGVfZHVyYXRpb25fc2Vjb25kc8JnABgzGnWE"
    "Ph5bFWcIZAoiHWcAFg1nHHNhbXBsZXNfCQ+6hwEVzQAQNXIIcwoxHWYAJQlXFWZEcG9zdF9tZXRyaWNfcmVsYWJl"
    "QTHC2wApQhl1AGE21gIRdSBlcmllc19hZGTu2AAJ2A=="
)
# snappy-java 1.1.10.7 (Kafka's) compressing SNAPPY_JAVA_INPUT
SNAPPY_JAVA_INPUT = (
    "".join(f"series{i % 37} value={i * 7 % 101};" for i in range(60)).encode()
    + b"a" * 300
    + bytes(range(256))
)
SNAPPY_JAVA_OUTPUT = base64.b64decode(
    "yAw8c2VyaWVzMCB2YWx1ZT0wOwkQADENEAA3DRAAMg0QBDE0DREAMw0RBDIxDREANBERADgNEQA1DREEMzUN"
    "EQA2DREENDINEQA3EREAOQ0RADgNEQQ1Ng0RADkNEQQ2Mw0RADERqQA3FaoVqxGsADERrQA4Ea0AMRGuADkR"
    "rgAxEa8AORGvADERsBU1EbAAMRU1EbEAMRU1EbIAMhHlADERswAzEeYAMhGzADMR5wAyEbMANBHoADIRswA1"
    "EekAMhGzADYR6QAyEbMANhHpADIRswA3EbQAMhG0ADgRtAAyEbQAOBG0ADIRtAA5EbQAMhG0ETUAMxGzETQA"
    "MxGyADERNAAzEbIAMhHoADMRsgAyEegAMxGyADMR6AAzEbIANBHoADMRsgA1EegRfAA1EecRfAA2FeZNFgA3"
    "FbARERGwEXkAOBGvEXgAORGuEXcAORGtMSgRMjEmADERMjUlETJVjAAyEd9VjAAzEd9VjAA0Ed9VjAA0FeAR"
    "rgA1EeFVjAA2EeJVjQA2EeNVjQA3EbJVjQA4EbNVjQA4EbRVjQA5EbRVjRE1VYwIOTth/gEA/gEA/gEA/gEA"
    "qgEA8P8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5"
    "Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4"
    "eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ6foKGio6SlpqeoqaqrrK2ur7CxsrO0tba3"
    "uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e3+Dh4uPk5ebn6Onq6+zt7u/w8fLz9PX2"
    "9/j5+vv8/f7/"
)


def reference_messages() -> dict[str, Any]:
    """remote_write's messages as real protobuf classes (field numbers from prompb/types.proto)."""
    t = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="rw.proto", package="prometheus", syntax="proto3"
    )
    many = t.LABEL_REPEATED
    shapes: dict[str, list[tuple[str, int, int, str]]] = {
        "Label": [("name", 1, t.TYPE_STRING, ""), ("value", 2, t.TYPE_STRING, "")],
        "Sample": [("value", 1, t.TYPE_DOUBLE, ""), ("timestamp", 2, t.TYPE_INT64, "")],
        "Exemplar": [("labels", 1, t.TYPE_MESSAGE, "Label"), ("value", 2, t.TYPE_DOUBLE, "")],
        "Histogram": [("count_int", 1, t.TYPE_UINT64, ""), ("timestamp", 15, t.TYPE_INT64, "")],
        "TimeSeries": [
            ("labels", 1, t.TYPE_MESSAGE, "Label"),
            ("samples", 2, t.TYPE_MESSAGE, "Sample"),
            ("exemplars", 3, t.TYPE_MESSAGE, "Exemplar"),
            ("histograms", 4, t.TYPE_MESSAGE, "Histogram"),
        ],
        "MetricMetadata": [("type", 1, t.TYPE_INT32, ""), ("help", 4, t.TYPE_STRING, "")],
        "WriteRequest": [
            ("timeseries", 1, t.TYPE_MESSAGE, "TimeSeries"),
            ("metadata", 3, t.TYPE_MESSAGE, "MetricMetadata"),
        ],
    }
    for name, fields in shapes.items():
        message = file.message_type.add(name=name)
        for field, number, kind, ref in fields:
            label = many if ref else t.LABEL_OPTIONAL
            added = message.field.add(name=field, number=number, type=kind, label=label)
            if ref:
                added.type_name = f".prometheus.{ref}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{n}"))
        for n in shapes
    }


PB = reference_messages()


def write_request(*series: tuple[dict[str, str], list[tuple[int, float]]], **extra: Any) -> bytes:
    """A WriteRequest encoded by the protobuf library."""
    request = PB["WriteRequest"]()
    for labels, samples in series:
        ts = request.timeseries.add()
        for name, text in labels.items():
            ts.labels.add(name=name, value=text)
        for timestamp, number in samples:
            ts.samples.add(value=number, timestamp=timestamp)
        for _ in range(extra.get("histograms", 0)):
            ts.histograms.add(count_int=3, timestamp=T0)
        for _ in range(extra.get("exemplars", 0)):
            ts.exemplars.add(value=1.5).labels.add(name="trace_id", value="abc")
    request.metadata.add(type=1, help="ignored")
    return bytes(request.SerializeToString())


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([*out, n])


def snappy_literal(data: bytes) -> bytes:
    """Valid snappy with no compression: the length, then one literal."""
    n = len(data) - 1
    if n < 60:
        return varint(len(data)) + bytes([n << 2]) + data
    width = (n.bit_length() + 7) // 8
    return varint(len(data)) + bytes([(59 + width) << 2]) + n.to_bytes(width, "little") + data


# --- snappy ------------------------------------------------------------------------------------


def test_snappy_java_output_decodes_to_its_input() -> None:
    assert snappy.decompress(SNAPPY_JAVA_OUTPUT, max_length=1 << 20) == SNAPPY_JAVA_INPUT


def test_every_snappy_element_kind_decodes() -> None:
    elements = (
        b"\x0cabcd"  # literal of 4
        + b"\x01\x04"  # copy, 1-byte offset: 4 back, 4 long
        + b"\x16\x02\x00"  # copy, 2-byte offset: 2 back, 6 long (overlapping: a repeat)
        + b"\x0b\x08\x00\x00\x00"  # copy, 4-byte offset: 8 back, 3 long
        + b"\xf0\x63"
        + b"x" * 100  # literal, length in 1 extra byte
        + b"\xf4\x2b\x01"
        + b"y" * 300  # literal, length in 2 extra bytes
        + b"\x1d\x01"  # run of 11 from 1 back
    )
    expected = b"abcdabcdcdcdcdcdc" + b"x" * 100 + b"y" * 311
    assert snappy.decompress(varint(len(expected)) + elements, max_length=1000) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",  # no header
        b"\x05\x0cab",  # literal runs past the end
        b"\x08\x0cabcd\x01\x09",  # copy from before the start
        b"\x09\x0cabcd\x01\x04",  # one byte short of the header's length
        b"\x04\x0cabcd\x01\x04",  # longer than the header's length
    ],
)
def test_corrupt_snappy_is_an_error(body: bytes) -> None:
    with pytest.raises(snappy.SnappyError):
        snappy.decompress(body, max_length=1000)


def test_snappy_over_the_limit_fails_before_decoding() -> None:
    with pytest.raises(snappy.SnappyTooLargeError):
        snappy.decompress(varint(1 << 30) + b"\x00", max_length=1 << 20)


# --- protobuf ----------------------------------------------------------------------------------


def test_what_prometheus_sent_decodes() -> None:
    series = decode_write_request(snappy.decompress(PROMETHEUS_BODY, max_length=1 << 20))
    values = {(s.labels["__name__"], s.labels.get("service")): s.samples for s in series}
    assert values["cc_test_queue_depth", "checkout"] == [(1795695432262, 42.0)]
    assert values["cc_test_not_allowed", "checkout"] == [(1795695432262, 13.0)]
    assert values["cc_test_zero", None] == [(1795695432262, 0.0)]  # zero: value field left out
    assert series[0].labels["job"] == "target-0"
    assert len(series) == 9


def test_decoder_agrees_with_the_protobuf_library() -> None:
    samples = [(T0, 1.5), (-1000, -2.25), (0, 0.0), (T0 + 1, math.inf), (T0 + 2, 1e-300)]
    body = write_request(
        ({"__name__": "m", "é": "ü" * 200}, samples), ({"__name__": "h"}, []), histograms=2
    )
    first, second = decode_write_request(body)
    assert first.labels == {"__name__": "m", "é": "ü" * 200}
    assert first.samples == samples
    assert (second.samples, second.sample_count, second.histogram_count) == ([], 0, 2)


def test_unknown_fields_and_exemplars_are_skipped() -> None:
    body = write_request(({"__name__": "m"}, [(T0, 2.0)]), exemplars=2)
    unknown = b"\x78\x96\x01" + b"\x81\x01" + b"\x00" * 8 + b"\x85\x01\x00\x00\x00\x00"
    (series,) = decode_write_request(unknown + body + b"\x7a\x02hi")
    assert series.samples == [(T0, 2.0)]


def test_series_not_kept_are_counted_without_decoding_samples() -> None:
    body = write_request(({"__name__": "m"}, [(T0, 1.0), (T0 + 1, 2.0)]))
    (series,) = decode_write_request(body, lambda labels: False)
    assert (series.kept, series.samples, series.sample_count) == (False, [], 2)


@pytest.mark.parametrize(
    "body",
    [
        write_request(({"__name__": "m"}, [(T0, 1.0)]))[:-9],  # truncated
        b"\x0a\x05\x0a\x03\x0a\x01\xff",  # label not UTF-8
        b"\x0b\x00",  # group wire type
        b"\x0a\x7f\x00",  # length past the end
    ],
)
def test_malformed_protobuf_is_a_wire_error(body: bytes) -> None:
    with pytest.raises(WireError):
        decode_write_request(body)


# --- allow-list --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "labels", "allowed"),
    [
        ({"metric": "up"}, {"__name__": "up"}, True),
        ({"metric": "up"}, {"__name__": "upx"}, False),
        ({"metric": "node_.*"}, {"__name__": "node_load1"}, True),
        ({"metric": "node_"}, {"__name__": "node_load1"}, False),
        ({"metric": "=~node"}, {"__name__": "node_load1"}, False),  # anchored
        ({"metric": "up", "labels": {"job": "api"}}, {"__name__": "up", "job": "api"}, True),
        ({"metric": "up", "labels": {"job": "api"}}, {"__name__": "up", "job": "web"}, False),
        ({"metric": "up", "labels": {"code": "=~5.."}}, {"__name__": "up", "code": "503"}, True),
        ({"metric": "up", "labels": {"code": "=~5.."}}, {"__name__": "up", "code": "5030"}, False),
        ({"metric": "up", "labels": {"env": "!=dev"}}, {"__name__": "up"}, True),
        (
            {"metric": "up", "labels": {"env": "!~dev|test"}},
            {"__name__": "up", "env": "test"},
            False,
        ),
        ({"metric": "up", "labels": {"env": ""}}, {"__name__": "up"}, True),  # missing = ""
        ({"metric": "up", "labels": {"env": "=~.+"}}, {"__name__": "up"}, False),
        ({"metric": "up", "labels": {"code": 200}}, {"__name__": "up", "code": "200"}, True),
        (
            {"metric": "up", "labels": {"job": "api", "env": "prod"}},
            {"__name__": "up", "job": "api", "env": "dev"},
            False,
        ),
    ],
)
def test_allow_list_follows_prometheus_matchers(
    rule: dict[str, Any], labels: dict[str, str], allowed: bool
) -> None:
    assert parse_allowlist([rule]).allows(labels) is allowed


def test_any_rule_may_allow_a_series() -> None:
    allow = parse_allowlist([{"metric": "a"}, {"metric": "b.*", "labels": {"x": "1"}}])
    assert allow.allows({"__name__": "a"})
    assert allow.allows({"__name__": "bee", "x": "1"})
    assert not allow.allows({"__name__": "bee"})
    assert not parse_allowlist(None).allows({"__name__": "a"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"metric": "a"}, "expected a list"),
        ([{"labels": {"a": "b"}}], "rule 0: expected a mapping with `metric`"),
        ([{"metric": "a"}, {"metric": "a", "label": {}}], "rule 1: unknown keys ['label']"),
        ([{"metric": "a", "labels": ["x"]}], "`labels` must be a mapping"),
        ([{"metric": "a", "labels": {"x": "=~("}}], "'x' regex '('"),
        ([{"metric": "a", "labels": {"x": ["y"]}}], "'x' must be a string"),
    ],
)
def test_invalid_allow_list_names_the_rule(data: object, message: str) -> None:
    with pytest.raises(AllowListError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_allowlist(data)


# --- batches -----------------------------------------------------------------------------------

ALLOW = parse_allowlist([{"metric": "cc_queue_depth"}, {"metric": "cc_errors_total"}])


def at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def test_one_event_per_family_with_one_series_per_label_set() -> None:
    checkout = {"__name__": "cc_queue_depth", "service": "checkout"}
    body = write_request(
        (checkout, [(T0 + 15_000, 43.0)]),
        ({"__name__": "cc_errors_total", "service": "checkout"}, [(T0, 1.0)]),
        (checkout, [(T0, 42.0)]),  # Prometheus sends one TimeSeries per sample
        ({"__name__": "up"}, [(T0, 1.0)]),
    )
    batches = batches_from_request(body, ALLOW)
    assert [key for key, _ in batches.events] == ["cc_queue_depth", "cc_errors_total"]
    (series,) = batches.events[0][1].series
    assert (series.name, series.labels) == ("cc_queue_depth", {"service": "checkout"})
    assert [(s.timestamp, s.value) for s in series.samples] == [
        (at(T0), 42.0),
        (at(T0 + 15_000), 43.0),
    ]
    assert batches.events[0][1].metadata.occurred_at == at(T0 + 15_000)
    assert (batches.tally.accepted_series, batches.tally.accepted_samples) == (3, 3)
    assert batches.tally.dropped_series == {"not_allowlisted": 1}


def test_big_families_are_split_under_the_cap() -> None:
    many = [({"__name__": "cc_queue_depth", "pod": str(i)}, [(T0, float(i))]) for i in range(7)]
    events = batches_from_request(write_request(*many), ALLOW, max_samples=3).events
    assert [len(e.series) for _, e in events] == [3, 3, 1]
    assert {key for key, _ in events} == {"cc_queue_depth"}
    long = write_request(({"__name__": "cc_queue_depth"}, [(T0 + i, 1.0) for i in range(10)]))
    split = batches_from_request(long, ALLOW, max_samples=4).events
    assert [len(e.series[0].samples) for _, e in split] == [4, 4, 2]
    assert len({e.metadata.event_id for _, e in split}) == 3


def test_event_size_is_capped_by_bytes_too() -> None:
    wide = {"__name__": "cc_queue_depth", "blob": "x" * 1000}
    many = [({**wide, "pod": str(i)}, [(T0, 1.0)]) for i in range(10)]
    events = batches_from_request(write_request(*many), ALLOW, max_bytes=2500).events
    assert [len(e.series) for _, e in events] == [2, 2, 2, 2, 2]


def test_a_retried_request_gets_the_same_event_ids() -> None:
    body = write_request(({"__name__": "cc_queue_depth"}, [(T0, 1.0)]))
    later = write_request(({"__name__": "cc_queue_depth"}, [(T0 + 1, 1.0)]))

    def ids(b: bytes) -> list[str]:
        return [e.metadata.event_id for _, e in batches_from_request(b, ALLOW).events]

    assert ids(body) == ids(body)
    assert ids(body) != ids(later)


def test_dropped_series_and_samples_are_counted_by_reason() -> None:
    body = write_request(
        ({"__name__": "up"}, [(T0, 1.0), (T0 + 1, 1.0)]),
        ({"job": "nameless"}, [(T0, 1.0)]),
        ({"__name__": "cc_queue_depth", "kind": "native"}, []),
        ({"__name__": "cc_queue_depth", "kind": "gone"}, [(T0, STALE)]),
        ({"__name__": "cc_queue_depth"}, [(T0, 5.0), (T0 + 1, STALE), (T0 + 2, math.nan)]),
        ({"__name__": "cc_errors_total"}, [(2**62, 1.0)]),  # beyond year 9999
        histograms=1,
    )
    batches = batches_from_request(body, ALLOW)
    tally = batches.tally
    assert tally.dropped_series == {
        "not_allowlisted": 1,
        "no_metric_name": 1,
        "no_float_samples": 3,
    }
    assert tally.dropped_samples == {
        "not_allowlisted": 3,
        "no_metric_name": 2,
        "stale_marker": 2,
        "timestamp_out_of_range": 1,
        "native_histogram": 4,
    }
    (series,) = batches.events[0][1].series
    assert series.samples[0].value == 5.0
    assert math.isnan(series.samples[1].value)  # an ordinary NaN is a value; only staleness goes


# --- the route ---------------------------------------------------------------------------------

ALLOWLIST_YAML = """\
- metric: cc_test_queue_depth
  labels:
    service: checkout
- metric: cc_queue_depth
"""


@pytest.fixture
def allowlist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "allow.yml"
    path.write_text(ALLOWLIST_YAML)
    monkeypatch.setenv(ALLOWLIST_ENV, str(path))
    return path


def client_for(producer: RecordingProducer, **overrides: Any) -> TestClient:
    settings = Settings(prometheus_token=TOKEN, kafka_ack_timeout_s=0.2, **overrides)
    return TestClient(create_app(settings, producer, CollectorRegistry()))  # type: ignore[arg-type]


@pytest.mark.usefixtures("allowlist")
def test_prometheus_body_is_204_once_kafka_holds_the_allowed_series() -> None:
    producer = RecordingProducer()
    response = client_for(producer).post("/api/v1/write", content=PROMETHEUS_BODY, headers=HEADERS)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers[DROPPED_HEADER] == (
        "not_allowlisted=8, no_metric_name=0, no_float_samples=0"
    )
    ((topic, key, event),) = producer.sent
    assert (topic, key) == ("metrics.metric-samples-received.v1", "cc_test_queue_depth")
    (series,) = event.series
    assert series.labels == {
        "service": "checkout",
        "job": "target-0",
        "instance": "127.0.0.1:35727",
    }
    assert [(s.timestamp, s.value) for s in series.samples] == [(at(1795695432262), 42.0)]


@pytest.mark.usefixtures("allowlist")
def test_credentials_are_required() -> None:
    producer = RecordingProducer()
    client = client_for(producer)
    headers = {k: v for k, v in HEADERS.items() if k != "Authorization"}
    assert client.post("/api/v1/write", content=PROMETHEUS_BODY, headers=headers).status_code == 401
    wrong = {**headers, "Authorization": "Bearer nope"}
    assert client.post("/api/v1/write", content=PROMETHEUS_BODY, headers=wrong).status_code == 403
    assert producer.sent == []


@pytest.mark.usefixtures("allowlist")
@pytest.mark.parametrize(
    "header",
    [
        {"Content-Encoding": "gzip"},
        {"Content-Type": "application/json"},
        {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
    ],
)
def test_not_remote_write_v1_is_415(header: dict[str, str]) -> None:
    response = client_for(RecordingProducer()).post(
        "/api/v1/write", content=PROMETHEUS_BODY, headers={**HEADERS, **header}
    )
    assert response.status_code == 415


@pytest.mark.usefixtures("allowlist")
def test_missing_encoding_headers_mean_snappy_protobuf_like_prometheus() -> None:
    proto = "application/x-protobuf; proto=prometheus.WriteRequest"
    client = client_for(RecordingProducer())
    for headers in (AUTH, {**HEADERS, "Content-Type": proto}):
        response = client.post("/api/v1/write", content=PROMETHEUS_BODY, headers=headers)
        assert response.status_code == 204


@pytest.mark.usefixtures("allowlist")
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"\xff\xff\xff\xff\xff\xff", "invalid body: snappy"),
        (snappy_literal(b"\x0a\x7f\x00"), "invalid WriteRequest"),
    ],
)
def test_undecodable_body_is_400_saying_why(body: bytes, detail: str) -> None:
    producer = RecordingProducer()
    response = client_for(producer).post("/api/v1/write", content=body, headers=HEADERS)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert producer.sent == []


@pytest.mark.usefixtures("allowlist")
def test_too_large_compressed_or_decompressed_is_413() -> None:
    client = client_for(RecordingProducer(), max_body_bytes=100)
    assert client.post("/api/v1/write", content=PROMETHEUS_BODY, headers=HEADERS).status_code == 413
    bomb = varint(1 << 30) + b"\x00"
    assert client.post("/api/v1/write", content=bomb, headers=HEADERS).status_code == 413


@pytest.mark.usefixtures("allowlist")
@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_kafka_not_acknowledging_is_503_so_prometheus_retries(mode: str) -> None:
    response = client_for(RecordingProducer(mode)).post(
        "/api/v1/write", content=PROMETHEUS_BODY, headers=HEADERS
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_without_an_allow_list_everything_is_dropped_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    producer = RecordingProducer()
    client = client_for(producer)
    response = client.post("/api/v1/write", content=PROMETHEUS_BODY, headers=HEADERS)
    assert response.status_code == 204
    assert response.headers[DROPPED_HEADER].startswith("not_allowlisted=9,")
    assert producer.sent == []
    metrics = client.get("/metrics").text
    assert 'cc_ingest_series_total{outcome="not_allowlisted"} 9.0' in metrics


def test_an_invalid_allow_list_stops_the_app_from_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "allow.yml"
    path.write_text("- metric: up\n  labels: {code: '=~(5'}\n")
    monkeypatch.setenv(ALLOWLIST_ENV, str(path))
    with pytest.raises(AllowListError, match=r"allow\.yml: allow-list rule 0"):
        client_for(RecordingProducer())
    monkeypatch.setenv(ALLOWLIST_ENV, str(tmp_path / "missing.yml"))
    with pytest.raises(AllowListError, match=r"missing\.yml"):
        client_for(RecordingProducer())
