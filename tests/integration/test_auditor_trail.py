"""The audit trail on the real Elasticsearch: template, document shape, redelivery, refusals,
search with search_after, and tamper detection by `audit verify` (CLI and API).

Each test run has its own index prefix, alias, topic and anchor topic (deleted afterwards), so
the shared `cc-audit` trail and other people's tests are left alone.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from fastavro import schemaless_reader, schemaless_writer
from fastavro.utils import generate_one
from opentelemetry import trace

from cc.events import EVENT_TYPES, SingleObjectSerde
from cc.events.schemas import load
from cc.kafka import EventProducer, Received, ensure_topics
from cc.platform.auth import TokenTable
from cc.testing import infra
from cc.testing.events import T0, notification_sent
from compliance_auditor.adapters.elasticsearch_store import (
    ElasticsearchAuditStore,
    install_template,
)
from compliance_auditor.api.app import build_api
from compliance_auditor.config import Settings
from compliance_auditor.domain.chain import document_hash
from compliance_auditor.handlers import Auditor
from compliance_auditor.main import api_context
from compliance_auditor.ports import AuditWrite

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy/elasticsearch/audit-index-template.json"
PARTITIONS = 8


@dataclass
class AuditRun:
    """One test's private trail: index prefix (= alias), source topic, anchor topic."""

    es: Elasticsearch
    es_url: str
    bootstrap: str
    prefix: str
    topic: str
    anchor_topic: str

    @property
    def env(self) -> dict[str, str]:
        """The auditor's settings for this trail (process or CLI)."""
        return {
            "CC_KAFKA_BOOTSTRAP": self.bootstrap,
            "COMPLIANCE_AUDITOR_ELASTICSEARCH_URL": self.es_url,
            "COMPLIANCE_AUDITOR_INDEX_PREFIX": self.prefix,
            "COMPLIANCE_AUDITOR_TOPICS": self.topic,
            "COMPLIANCE_AUDITOR_ANCHOR_TOPIC": self.anchor_topic,
            "COMPLIANCE_AUDITOR_ANCHOR_INTERVAL_S": "1",
            "OTEL_TRACES_EXPORTER": "none",
        }

    def settings(self) -> Settings:
        return Settings(
            kafka_bootstrap=self.bootstrap,
            index_prefix=self.prefix,
            anchor_topic=self.anchor_topic,
        )

    def docs(self, size: int = 10_000) -> list[dict[str, Any]]:
        self.es.indices.refresh(index=self.prefix)
        response = self.es.search(index=self.prefix, size=size, sort=[{"kafka.offset": "asc"}])
        return list(response["hits"]["hits"])

    def ids(self) -> list[str]:
        """Every document id of the trail (paged with search_after: more than 10 000 too)."""
        self.es.indices.refresh(index=self.prefix)
        found: list[str] = []
        after: dict[str, Any] = {}
        while True:
            response = self.es.search(
                index=self.prefix, size=5000, sort=[{"event.id": "asc"}], source=False, **after
            )
            hits = response["hits"]["hits"]
            found += [hit["_id"] for hit in hits]
            if len(hits) < 5000:
                return found
            after = {"search_after": hits[-1]["sort"]}

    def count(self) -> int:
        self.es.indices.refresh(index=self.prefix, ignore_unavailable=True, allow_no_indices=True)
        response = self.es.count(index=self.prefix, ignore_unavailable=True, allow_no_indices=True)
        return int(response["count"])

    def verify(self, *extra: str) -> dict[str, Any]:
        """`python -m compliance_auditor audit verify --json` as a person would run it."""
        result = subprocess.run(
            [sys.executable, "-m", "compliance_auditor", "audit", "verify", "--json", *extra],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr
        report: dict[str, Any] = json.loads(result.stdout)
        assert (result.returncode == 0) == report["ok"]
        return report


@pytest.fixture
def audit_run(endpoints: infra.Endpoints) -> Iterator[AuditRun]:
    """A private trail and topics, removed afterwards."""
    suffix = uuid.uuid4().hex[:10]
    es = Elasticsearch(endpoints.elasticsearch_url, request_timeout=30)
    run = AuditRun(
        es,
        endpoints.elasticsearch_url,
        endpoints.kafka_bootstrap,
        f"it-audit-{suffix}",
        f"it.audit-{suffix}.v1",
        f"it.anchors-{suffix}.v1",
    )
    ensure_topics(run.bootstrap, {run.topic: PARTITIONS, run.anchor_topic: 1})
    install_template(es, run.prefix, TEMPLATE)
    yield run
    es.options(ignore_status=404).indices.delete(index=f"{run.prefix}-*")
    es.options(ignore_status=404).indices.delete_index_template(name=run.prefix)
    AdminClient({"bootstrap.servers": run.bootstrap}).delete_topics([run.topic, run.anchor_topic])


def message(run: AuditRun, event: Any, partition: int, offset: int) -> Received:
    return Received(event, run.topic, partition, offset, "", [], trace.INVALID_SPAN)


def notifications(run: AuditRun, partition: int, count: int, start: int = 0) -> list[Received]:
    return [
        message(
            run, notification_sent(f"{run.prefix}-{partition}-{i}", run_id=run.prefix), partition, i
        )
        for i in range(start, start + count)
    ]


def auditor(run: AuditRun) -> Auditor:
    store = ElasticsearchAuditStore(run.es, index_prefix=run.prefix)
    return Auditor(store, index_prefix=run.prefix, anchor_topic=run.anchor_topic)


def publish_anchors(run: AuditRun, a: Auditor) -> None:
    producer = EventProducer(run.bootstrap, SingleObjectSerde(), client_id="it-anchors")
    futures = [producer.produce(o.topic, o.key, o.event) for o in a.tick(datetime.now(T0.tzinfo))]
    for future in futures:
        future.result(30)
    producer.close()


def sample(schema_name: str) -> Any:
    """A random but valid event of this type (through Avro, so logical types hold)."""
    schema = load()[schema_name].parsed
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, generate_one(schema))
    buffer.seek(0)
    return EVENT_TYPES[schema_name].from_avro(schemaless_reader(buffer, schema, schema))


def test_template_is_applied_and_every_event_type_is_stored_as_specified(
    audit_run: AuditRun,
) -> None:
    shipped = json.loads(TEMPLATE.read_text())["template"]
    items = [message(audit_run, sample(name), 0, i) for i, name in enumerate(sorted(EVENT_TYPES))]
    auditor(audit_run).on_events(items)
    assert [i.error for i in items] == [None] * len(items)
    mapping = audit_run.es.indices.get_mapping(index=f"{audit_run.prefix}-*")
    for index, found in mapping.items():
        assert found["mappings"]["dynamic"] == "strict", index
        assert set(shipped["mappings"]["properties"]) <= set(found["mappings"]["properties"])
        aliases = audit_run.es.indices.get_alias(index=index)[index]["aliases"]
        assert audit_run.prefix in aliases, "behind the trail's alias"
    docs = audit_run.docs()
    assert len(docs) == len(EVENT_TYPES)
    for hit in docs:
        doc = hit["_source"]
        assert hit["_id"] == doc["event"]["id"]
        assert hit["_index"] == f"{audit_run.prefix}-{doc['@timestamp'][:7].replace('-', '.')}"
        assert {"@timestamp", "ecs", "event", "service", "kafka", "commandcenter"} <= set(doc)
        assert doc["event"]["action"] and doc["event"]["kind"] in ("event", "alert", "metric")
        assert doc["commandcenter"]["chain"]["stream"] == f"{audit_run.topic}/0"
    assert audit_run.verify()["ok"]


def test_indices_made_by_an_older_template_get_the_new_fields(audit_run: AuditRun) -> None:
    first_template = {  # the shape of the first shipped template: loose root, plain labels
        "dynamic": "false",
        "properties": {
            "labels": {"type": "object", "dynamic": "true"},
            "kafka": {"properties": {"offset": {"type": "long"}}},
        },
    }
    index = f"{audit_run.prefix}-2026.01"
    audit_run.es.indices.delete_index_template(name=audit_run.prefix)
    audit_run.es.indices.create(index=index, mappings=first_template)
    install_template(audit_run.es, audit_run.prefix, TEMPLATE)
    mapping = audit_run.es.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert "chain" in mapping["properties"]["commandcenter"]["properties"]


def test_a_field_outside_the_template_is_refused_and_kept_as_a_placeholder(
    audit_run: AuditRun,
) -> None:
    store = ElasticsearchAuditStore(audit_run.es, index_prefix=audit_run.prefix)
    bogus = AuditWrite(f"{audit_run.prefix}-2026.11", "bogus", {"surprise": 1})
    assert "strict_dynamic_mapping_exception" in store.write([bogus]).rejected[0]
    items = notifications(audit_run, 0, 3)
    a = auditor(audit_run)
    original = a._pending  # one document of the batch gains a field the template lacks

    def with_surprise(item: Received, index: str, ingested: datetime) -> Any:
        pending = original(item, index, ingested)
        if item.offset == 1:
            pending.write.document["surprise"] = "x"
        return pending

    a._pending = with_surprise  # type: ignore[method-assign]
    a.on_events(items)
    assert "strict_dynamic_mapping_exception" in str(items[1].error)
    stand_in = audit_run.docs()[1]["_source"]
    assert stand_in["commandcenter"]["rejected"]["reason"]
    assert audit_run.verify()["ok"], "the placeholder holds the refused document's place"


def test_redelivered_events_are_neither_duplicated_nor_forked(audit_run: AuditRun) -> None:
    auditor(audit_run).on_events(notifications(audit_run, 0, 50))
    first = {h["_id"]: h["_source"]["commandcenter"]["chain"] for h in audit_run.docs()}
    auditor(audit_run).on_events(notifications(audit_run, 0, 80))  # a restart replays 0..79
    again = {h["_id"]: h["_source"]["commandcenter"]["chain"] for h in audit_run.docs()}
    assert len(again) == 80
    assert all(again[k] == v for k, v in first.items())
    report = audit_run.verify()
    assert report["ok"] and report["records"] == 80


def test_search_pages_with_search_after_cover_every_record_once(audit_run: AuditRun) -> None:
    auditor(audit_run).on_events(notifications(audit_run, 0, 25) + notifications(audit_run, 1, 20))
    tokens = TokenTable.parse("vera:viewer:viewer-token-0123456789", "test")
    ctx = api_context(audit_run.settings(), audit_run.es)
    client = TestClient(build_api(replace(ctx, tokens=tokens)))
    auth = {"Authorization": "Bearer viewer-token-0123456789"}
    audit_run.count()  # refresh
    seen: list[str] = []
    params: dict[str, Any] = {"size": 7, "event_type": "notification-sent", "q": audit_run.prefix}
    while True:
        page = client.get("/audit/search", params=params, headers=auth).json()
        seen += [h["id"] for h in page["hits"]]
        if page["next"] is None:
            break
        params["search_after"] = page["next"]
    assert len(seen) == 45 and len(set(seen)) == 45
    verified = client.get("/audit/verify", headers=auth).json()
    assert verified["ok"] and verified["records"] == 45


def tamper(run: AuditRun, hit: dict[str, Any], change: Any = None) -> None:
    """Overwrite a stored document in place (what someone with write access could do)."""
    source = hit["_source"]
    if change is not None:
        change(source)
    run.es.index(index=hit["_index"], id=hit["_id"], document=source, refresh=True)


def test_tampering_is_detected_and_located_by_audit_verify(audit_run: AuditRun) -> None:
    """One stream per kind of tampering, one untouched; anchors published for every head."""
    a = auditor(audit_run)
    for partition in range(7):
        a.on_events(notifications(audit_run, partition, 12))
    publish_anchors(audit_run, a)
    by_stream: dict[int, list[dict[str, Any]]] = {}
    for hit in audit_run.docs():
        by_stream.setdefault(hit["_source"]["kafka"]["partition"], []).append(hit)
    for hits in by_stream.values():
        hits.sort(key=lambda h: h["_source"]["commandcenter"]["chain"]["seq"])

    edited, deleted, inserted, swapped, truncated = (by_stream[p] for p in range(1, 6))
    tamper(audit_run, edited[4], lambda s: s["commandcenter"]["payload"].update(status="x"))
    audit_run.es.delete(index=deleted[6]["_index"], id=deleted[6]["_id"], refresh=True)
    forged = dict(inserted[3], _id="00000000-0000-4000-8000-000000000000")
    forged["_source"] = json.loads(json.dumps(inserted[3]["_source"]))
    forged["_source"]["event"]["id"] = forged["_id"]
    forged["_source"]["commandcenter"]["chain"]["hash"] = document_hash(forged["_source"])
    tamper(audit_run, forged)
    first, second = swapped[8]["_source"], swapped[9]["_source"]
    seqs = (first["commandcenter"]["chain"]["seq"], second["commandcenter"]["chain"]["seq"])
    tamper(audit_run, swapped[8], lambda s: s["commandcenter"]["chain"].update(seq=seqs[1]))
    tamper(audit_run, swapped[9], lambda s: s["commandcenter"]["chain"].update(seq=seqs[0]))
    for hit in truncated[-2:]:
        audit_run.es.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    planted = json.loads(json.dumps(by_stream[6][0]["_source"]))
    del planted["commandcenter"]["chain"]
    audit_run.es.index(
        index=by_stream[6][0]["_index"], id="planted", document=planted, refresh=True
    )

    report = audit_run.verify()
    problems = {s["stream"].rsplit("/", 1)[1]: s["problem"] for s in report["streams"]}
    assert problems["0"] is None and problems["6"] is None, "untouched streams verify clean"
    assert (problems["1"]["kind"], problems["1"]["record_id"]) == ("edited", edited[4]["_id"])
    assert (problems["2"]["kind"], problems["2"]["record_id"]) == ("deleted", deleted[6]["_id"])
    assert (problems["3"]["kind"], problems["3"]["record_id"]) == ("inserted", forged["_id"])
    assert (problems["4"]["kind"], problems["4"]["record_id"]) == ("reordered", swapped[9]["_id"])
    assert (problems["5"]["kind"], problems["5"]["record_id"]) == (
        "truncated",
        truncated[-1]["_id"],
    )
    assert report["unchained"] == {"count": 1, "first_ids": ["planted"]}
    assert not report["ok"]
    only_clean = audit_run.verify("--stream", f"{audit_run.topic}/0")
    assert only_clean["ok"] and [s["stream"] for s in only_clean["streams"]] == [
        f"{audit_run.topic}/0"
    ]
