"""Avro serde for the event classes, in the two wire formats the design names.

- No registry: Avro single-object encoding (C3 01, 8-byte CRC-64-AVRO fingerprint, datum).
- Registry configured: Confluent framing (00, 4-byte big-endian schema id, datum), schemas
  registered under `<topic>-value` (TopicNameStrategy).

Both decode data written with an older version of a schema into the current classes (Avro schema
resolution), which is what keeps consumers working across a rolling upgrade.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any, ClassVar, Protocol

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from cc.events.generated import EVENT_TYPES, EventMetadata
from cc.events.schemas import LoadedSchema, default_schemas, parse

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = 0


class Event(Protocol):
    """What every generated event class offers."""

    SCHEMA: ClassVar[str]

    @property
    def metadata(self) -> EventMetadata: ...

    def to_avro(self) -> dict[str, Any]: ...


class DecodeError(ValueError):
    """The bytes are not an event this service can read (a poison message)."""


class Serde(Protocol):
    """Encode events for a topic and decode them back."""

    def encode(self, event: Event, topic: str) -> bytes: ...

    def decode(self, payload: bytes, topic: str) -> Event: ...


class _Reader:
    """Shared decode step: writer schema + current reader schema -> event class instance."""

    def __init__(self, schemas: dict[str, LoadedSchema]) -> None:
        self.schemas = schemas

    def read(self, body: io.BytesIO, writer: dict[str, Any], name: str) -> Event:
        current = self.schemas.get(name)
        cls = EVENT_TYPES.get(name)
        if current is None or cls is None:
            raise DecodeError(f"no event class for record {name!r}")
        reader = None if writer is current.parsed else current.parsed
        try:
            record = schemaless_reader(body, writer, reader)
        except Exception as exc:  # fastavro raises many types for corrupt data
            raise DecodeError(f"cannot decode {name}: {exc}") from exc
        event: Event = cls.from_avro(record)
        return event


class SingleObjectSerde:
    """Avro single-object encoding; schemas come from `schemas/` (and older versions kept there)."""

    def __init__(
        self,
        schemas: dict[str, LoadedSchema] | None = None,
        older: dict[bytes, tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        self.schemas = schemas or default_schemas()
        self._reader = _Reader(self.schemas)
        self._by_fp: dict[bytes, tuple[str, dict[str, Any]]] = dict(older or {})
        for loaded in self.schemas.values():
            self._by_fp[loaded.fingerprint] = (loaded.name, loaded.parsed)
        self._headers = {n: SINGLE_OBJECT_MAGIC + s.fingerprint for n, s in self.schemas.items()}

    def encode(self, event: Event, topic: str) -> bytes:
        """Marker, fingerprint, then the datum."""
        buf = io.BytesIO()
        buf.write(self._headers[event.SCHEMA])
        schemaless_writer(buf, self.schemas[event.SCHEMA].parsed, event.to_avro())
        return buf.getvalue()

    def decode(self, payload: bytes, topic: str) -> Event:
        """Find the writer schema by fingerprint and read into the current class."""
        if payload[:2] != SINGLE_OBJECT_MAGIC or len(payload) < 10:
            raise DecodeError("not an Avro single-object message (expected marker C3 01)")
        known = self._by_fp.get(bytes(payload[2:10]))
        if known is None:
            raise DecodeError(
                f"unknown schema fingerprint {bytes(payload[2:10]).hex()}: the writer used a "
                "schema this service does not have; deploy the newer schemas/"
            )
        name, writer = known
        return self._reader.read(io.BytesIO(payload[10:]), writer, name)


class RegistryClient(Protocol):
    """The two calls we need from a Confluent-compatible schema registry."""

    def register(self, subject: str, schema_json: str) -> int: ...

    def schema_by_id(self, schema_id: int) -> str: ...


class RegistrySerde:
    """Confluent wire format through a schema registry (Confluent, Apicurio ccompat, Karapace)."""

    def __init__(self, client: RegistryClient, schemas: dict[str, LoadedSchema] | None = None):
        self.client = client
        self.schemas = schemas or default_schemas()
        self._reader = _Reader(self.schemas)
        self._ids: dict[tuple[str, str], bytes] = {}
        self._writers: dict[int, tuple[str, dict[str, Any]]] = {}

    def encode(self, event: Event, topic: str) -> bytes:
        """Register once per (topic, record), then frame with the schema id."""
        key = (topic, event.SCHEMA)
        header = self._ids.get(key)
        if header is None:
            loaded = self.schemas[event.SCHEMA]
            schema_id = self.client.register(f"{topic}-value", json.dumps(loaded.expanded))
            header = struct.pack(">bI", CONFLUENT_MAGIC, schema_id)
            self._ids[key] = header
        buf = io.BytesIO()
        buf.write(header)
        schemaless_writer(buf, self.schemas[event.SCHEMA].parsed, event.to_avro())
        return buf.getvalue()

    def decode(self, payload: bytes, topic: str) -> Event:
        """Fetch the writer schema by id (cached) and read into the current class."""
        if len(payload) < 5 or payload[0] != CONFLUENT_MAGIC:
            raise DecodeError("not a Confluent-framed Avro message (expected magic byte 0)")
        (schema_id,) = struct.unpack(">I", payload[1:5])
        writer = self._writers.get(schema_id)
        if writer is None:
            doc = json.loads(self.client.schema_by_id(schema_id))
            parsed = parse(doc)
            name = parsed["name"]
            current = self.schemas.get(name)
            if current is not None and _same_schema(parsed, current):
                parsed = current.parsed
            writer = (name, parsed)
            self._writers[schema_id] = writer
        return self._reader.read(io.BytesIO(payload[5:]), writer[1], writer[0])


def _same_schema(parsed: dict[str, Any], current: LoadedSchema) -> bool:
    fp = fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")
    return bytes.fromhex(fp) == current.fingerprint
