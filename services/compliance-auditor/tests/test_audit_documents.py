"""Audit documents: ECS shape, event id as document id, poison documents marked."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider

from cc.testing.events import alert, incident_opened, received
from compliance_auditor.domain.documents import Origin, audit_document, index_for
from compliance_auditor.handlers import Auditor
from compliance_auditor.ports import AuditWrite


class RecordingStore:
    def __init__(self, reject: dict[int, str] | None = None) -> None:
        self.writes: list[AuditWrite] = []
        self.reject = reject or {}

    def write(self, writes: list[AuditWrite]) -> dict[int, str]:
        self.writes += writes
        return self.reject


def test_alert_document_is_ecs_shaped() -> None:
    event = alert()
    origin = Origin("alerts.alert-received.v1", 2, 41, event.fingerprint, "ab" * 16)
    doc = audit_document("AlertReceived", event.to_avro(), origin, event.metadata.occurred_at)
    assert doc["@timestamp"] == event.metadata.occurred_at
    assert doc["event"]["id"] == event.metadata.event_id
    assert doc["event"]["kind"] == "alert"
    assert doc["event"]["action"] == "alert-received"
    assert doc["service"]["name"] == "ingestor"
    assert doc["trace"]["id"] == "ab" * 16
    assert doc["labels"]["alertname"] == "DiskFull"
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


def test_batch_is_stored_with_event_ids_as_document_ids() -> None:
    store = RecordingStore()
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    items = [received(alert(fingerprint=f"f{i}")) for i in range(3)]
    for item in items:
        item.span = tracer.start_span("x")
    Auditor(store, index_prefix="cc-audit").on_events(items)
    assert [w.doc_id for w in store.writes] == [i.event.metadata.event_id for i in items]
    assert all(len(w.document["trace"]["id"]) == 32 for w in store.writes)


def test_a_document_the_store_rejects_is_marked_for_the_dead_letter_topic() -> None:
    items = [received(alert(fingerprint=f"f{i}")) for i in range(2)]
    Auditor(
        RecordingStore(reject={1: "mapper_parsing_exception"}), index_prefix="cc-audit"
    ).on_events(items)
    assert items[0].error is None
    assert "mapper_parsing_exception" in str(items[1].error)
