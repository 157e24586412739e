"""Both wire formats round-trip every event, and read data from older schema versions."""

import io
import json
import struct
from typing import Any

import pytest
from fastavro import schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from cc.events import EVENT_TYPES, DecodeError, RegistrySerde, SingleObjectSerde
from cc.events.compat import sample_records
from cc.events.schemas import default_schemas, parse


def all_sample_events() -> list[Any]:
    events = []
    for name, cls in EVENT_TYPES.items():
        schema = default_schemas()[name]
        events += [cls.from_avro(r) for r in sample_records(schema.expanded, count=4)]
    return events


class InMemoryRegistry:
    """Confluent semantics in miniature: one id per distinct schema, subjects remembered."""

    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}

    def register(self, subject: str, schema_json: str) -> int:
        for schema_id, known in self.schemas.items():
            if known == schema_json:
                self.subjects.setdefault(subject, []).append(schema_id)
                return schema_id
        schema_id = len(self.schemas) + 1
        self.schemas[schema_id] = schema_json
        self.subjects.setdefault(subject, []).append(schema_id)
        return schema_id

    def schema_by_id(self, schema_id: int) -> str:
        return self.schemas[schema_id]


@pytest.mark.parametrize("serde_kind", ["single-object", "registry"])
def test_every_event_round_trips(serde_kind: str) -> None:
    serde = (
        SingleObjectSerde() if serde_kind == "single-object" else RegistrySerde(InMemoryRegistry())
    )
    for event in all_sample_events():
        assert serde.decode(serde.encode(event, "t.v1"), "t.v1") == event


def test_single_object_framing_is_marker_fingerprint_datum() -> None:
    event = all_sample_events()[0]
    payload = SingleObjectSerde().encode(event, "t.v1")
    assert payload[:2] == b"\xc3\x01"
    assert payload[2:10] == default_schemas()[event.SCHEMA].fingerprint


def test_registry_framing_is_magic_byte_and_schema_id() -> None:
    registry = InMemoryRegistry()
    event = all_sample_events()[0]
    payload = RegistrySerde(registry).encode(event, "alerts.alert-received.v1")
    magic, schema_id = struct.unpack(">bI", payload[:5])
    assert (magic, schema_id) == (0, 1)
    assert registry.subjects == {"alerts.alert-received.v1-value": [1]}


@pytest.mark.parametrize(
    "garbage", [b"", b"\x00", b"hello world", b"\xc3\x01" + b"\x00" * 8 + b"x"]
)
def test_garbage_is_a_decode_error_not_a_crash(garbage: bytes) -> None:
    with pytest.raises(DecodeError):
        SingleObjectSerde().decode(garbage, "t.v1")


def test_truncated_datum_is_a_decode_error() -> None:
    serde = SingleObjectSerde()
    payload = serde.encode(all_sample_events()[1], "t.v1")
    with pytest.raises(DecodeError):
        serde.decode(payload[:-5], "t.v1")


def _older_notification_schema() -> dict[str, Any]:
    """NotificationSent as it might have been before `response` was added."""
    current = default_schemas()["commandcenter.NotificationSent"].expanded
    fields = [f for f in current["fields"] if f["name"] != "response"]
    return parse({**current, "fields": fields})


def _older_record() -> dict[str, Any]:
    event = next(e for e in all_sample_events() if e.SCHEMA.endswith("NotificationSent"))
    record = event.to_avro()
    del record["response"]
    return record


def test_single_object_reads_a_message_from_an_older_writer() -> None:
    old = _older_notification_schema()
    fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(old), "CRC-64-AVRO"))
    buf = io.BytesIO()
    buf.write(b"\xc3\x01" + fp)
    schemaless_writer(buf, old, _older_record())
    serde = SingleObjectSerde(older={fp: ("commandcenter.NotificationSent", old)})
    decoded = serde.decode(buf.getvalue(), "t.v1")
    assert decoded.response == ""  # the new field's default  # type: ignore[attr-defined]


def test_unknown_fingerprint_says_what_to_do() -> None:
    old = _older_notification_schema()
    fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(old), "CRC-64-AVRO"))
    with pytest.raises(DecodeError, match="deploy the newer schemas"):
        SingleObjectSerde().decode(b"\xc3\x01" + fp + b"\x00", "t.v1")


def test_registry_reads_a_message_from_an_older_writer() -> None:
    registry = InMemoryRegistry()
    old_id = registry.register("x-value", json.dumps(_older_notification_schema()))
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, old_id))
    schemaless_writer(buf, _older_notification_schema(), _older_record())
    decoded = RegistrySerde(registry).decode(buf.getvalue(), "x")
    assert decoded.SCHEMA == "commandcenter.NotificationSent"
