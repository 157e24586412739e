"""Audit documents: ECS shape, every field mapped by the shipped template, trace ids, ids."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastavro import schemaless_reader, schemaless_writer
from fastavro.utils import generate_one
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from cc.events import EVENT_TYPES, Event
from cc.events.schemas import load
from cc.platform.tracing import inject
from cc.testing.events import alert, incident_opened, received
from compliance_auditor.adapters.memory_store import MemoryAuditStore
from compliance_auditor.domain.chain import Link, chained_source, content_ok
from compliance_auditor.domain.documents import Origin, audit_document, index_for
from compliance_auditor.handlers import Auditor

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy/elasticsearch/audit-index-template.json"
MAPPINGS = json.loads(TEMPLATE.read_text())["template"]["mappings"]
LEAF_TYPES: dict[str, tuple[type, ...]] = {
    "keyword": (str,),
    "text": (str,),
    "date": (str,),
    "long": (int,),
    "integer": (int,),
    "double": (int, float),
}


def unmapped(doc: dict[str, Any], mapping: dict[str, Any], path: str = "") -> list[str]:
    """Fields of the document the (strict) mapping lacks or types differently."""
    problems = []
    for key, value in doc.items():
        field = mapping.get("properties", {}).get(key)
        name = f"{path}{key}"
        if field is None:
            problems.append(f"{name}: not in the template")
        elif field.get("type") == "flattened" or field.get("dynamic") == "true":
            continue
        elif "properties" in field:
            problems += unmapped(value, field, name + ".") if isinstance(value, dict) else [name]
        elif value is not None:
            values = value if isinstance(value, list) else [value]
            wanted = LEAF_TYPES[field["type"]]
            problems += [
                f"{name}: {v!r} is not {field['type']}" for v in values if not isinstance(v, wanted)
            ]
    return problems


def sample(schema_name: str) -> Event:
    """A random but valid instance of an event class (through Avro, so logical types hold)."""
    schema = load()[schema_name].parsed
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, generate_one(schema))
    buffer.seek(0)
    event: Event = EVENT_TYPES[schema_name].from_avro(schemaless_reader(buffer, schema, schema))
    return event


@pytest.mark.parametrize("schema_name", sorted(EVENT_TYPES))
def test_every_event_type_gives_a_document_the_template_maps(schema_name: str) -> None:
    event = sample(schema_name)
    origin = Origin("t.v1", 0, 1, "k", "ab" * 16)
    doc = audit_document(schema_name.rsplit(".", 1)[-1], event.to_avro(), origin, datetime.now())
    assert unmapped(doc, MAPPINGS) == []
    assert json.loads(json.dumps(doc)) == doc, "JSON-native: what Elasticsearch gives back"


@pytest.mark.parametrize("schema_name", sorted(EVENT_TYPES))
def test_the_serialised_document_is_the_chained_document(schema_name: str) -> None:
    event = sample(schema_name)
    origin = Origin("t.v1", 3, 7, "k", "ab" * 16)
    doc = audit_document(schema_name.rsplit(".", 1)[-1], event.to_avro(), origin, datetime.now())
    head = Link(4, "f" * 64, "before", 6)
    link, source = chained_source(doc, "t.v1/3", head, 7)
    assert orjson.loads(source) == doc
    assert doc["commandcenter"]["chain"]["hash"] == link.hash
    assert content_ok(doc["event"]["id"], orjson.loads(source))


def test_payload_fields_named_like_the_chain_or_the_event_do_not_mislead_the_splice() -> None:
    payload = alert("Decoy").to_avro()
    payload["labels"] = {"event": '{"id":1}', "chain": '"chain":{"alg":'}
    payload["annotations"] = {'"chain":{"alg":"x"}': '"event":{"id":"y"}'}
    payload["event"] = {"id": "nested", "chain": {"alg": "x", "hash": "y"}}
    origin = Origin("t.v1", 0, 1, "k", "")
    doc = audit_document("AlertReceived", payload, origin, datetime.now())
    doc["labels"]["event"] = "x"
    _, source = chained_source(doc, "t.v1/0", None, 1)
    assert orjson.loads(source) == doc
    assert content_ok(doc["event"]["id"], orjson.loads(source))


def test_the_template_is_strict_where_the_shape_is_ours() -> None:
    assert MAPPINGS["dynamic"] == "strict"
    assert MAPPINGS["properties"]["commandcenter"]["properties"]["payload"]["type"] == "flattened"
    assert MAPPINGS["properties"]["labels"]["dynamic"] == "true"


def test_alert_document_is_ecs_shaped() -> None:
    event = alert()
    origin = Origin("alerts.alert-received.v1", 2, 41, event.fingerprint, "ab" * 16)
    doc = audit_document("AlertReceived", event.to_avro(), origin, event.metadata.occurred_at)
    assert doc["@timestamp"] == event.metadata.occurred_at.isoformat()
    assert doc["event"]["id"] == event.metadata.event_id
    assert doc["event"]["kind"] == "alert"
    assert doc["event"]["action"] == "alert-received"
    assert doc["event"]["provider"] == doc["service"]["name"] == "ingestor"
    assert doc["trace"]["id"] == "ab" * 16
    assert doc["labels"]["alertname"] == "DiskFull"
    assert doc["commandcenter"]["service"] == "api"
    assert doc["kafka"] == {
        "topic": origin.topic,
        "partition": 2,
        "offset": 41,
        "key": event.fingerprint,
    }
    assert doc["commandcenter"]["payload"]["fingerprint"] == event.fingerprint


def test_incident_document_carries_the_incident_id() -> None:
    event = incident_opened("inc-7")
    doc = audit_document(
        "IncidentOpened", event.to_avro(), Origin("t", 0, 0, "", ""), event.metadata.occurred_at
    )
    assert doc["commandcenter"]["incident_id"] == "inc-7"
    assert "trace" not in doc


def test_index_is_chosen_by_the_events_own_month() -> None:
    assert index_for("cc-audit", alert().metadata.occurred_at) == "cc-audit-2026.11"


def test_documents_carry_the_trace_the_message_carries_and_event_ids_as_ids() -> None:
    store = MemoryAuditStore()
    tracer = TracerProvider().get_tracer("t")
    items = [received(alert(fingerprint=f"f{i}"), offset=i) for i in range(3)]
    with tracer.start_as_current_span("upstream") as upstream:
        inject(items[0].headers)
    Auditor(store, index_prefix="cc-audit").on_events(items)
    docs = {doc_id: doc for doc_id, (_, doc) in store.docs.items()}
    assert list(docs) == [i.event.metadata.event_id for i in items]
    first = docs[items[0].event.metadata.event_id]
    assert first["trace"]["id"] == format(upstream.get_span_context().trace_id, "032x")
    assert "trace" not in docs[items[1].event.metadata.event_id], "no header, no trace"
    assert trace.INVALID_SPAN is items[1].span


def test_a_document_the_store_rejects_is_marked_for_the_dead_letter_topic() -> None:
    store = MemoryAuditStore()
    refused = alert(fingerprint="f1").metadata.event_id
    store.refuse = lambda doc: (
        "mapper_parsing_exception"
        if doc["event"]["id"] == refused and "payload" in doc["commandcenter"]
        else None
    )
    items = [received(alert(fingerprint=f"f{i}"), offset=i) for i in range(2)]
    Auditor(store, index_prefix="cc-audit").on_events(items)
    assert items[0].error is None
    assert "mapper_parsing_exception" in str(items[1].error)
