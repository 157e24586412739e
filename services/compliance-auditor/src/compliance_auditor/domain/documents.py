"""One audit document per event, shaped by the Elastic Common Schema.

Documents are JSON-native (times as ISO-8601 strings), exactly what Elasticsearch gives back, so
the hash chain (`domain/chain.py`) can be recomputed from a stored `_source`. Everything but
`event.ingested` is a function of the event and where it was read, so a redelivered event gives
the same document (and the same hash).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

ECS_VERSION = "8.11.0"
LONG_MAX = 2**63 - 1

# ECS categorisation per record: (event.kind, event.category, event.type, event.outcome)
CATEGORIES: dict[str, tuple[str, list[str], list[str], str]] = {
    "AlertReceived": ("alert", ["host"], ["info"], "unknown"),
    "DeploymentObserved": ("event", ["configuration"], ["change"], "unknown"),
    "MetricSamplesReceived": ("metric", ["host"], ["info"], "unknown"),
    "AnomalyDetected": ("alert", ["threat"], ["indicator"], "unknown"),
    "IncidentOpened": ("event", ["host"], ["creation"], "unknown"),
    "IncidentUpdated": ("event", ["host"], ["change"], "unknown"),
    "IncidentResolved": ("event", ["host"], ["end"], "success"),
    "RemediationPlanned": ("event", ["configuration"], ["creation"], "unknown"),
    "RemediationDecided": ("event", ["iam"], ["allowed"], "success"),
    "RemediationExecuted": ("event", ["configuration"], ["change"], "unknown"),
    "RemediationVerified": ("event", ["configuration"], ["info"], "unknown"),
    "ComplianceViolationFound": ("alert", ["configuration"], ["info"], "failure"),
    "NotificationSent": ("event", ["network"], ["info"], "unknown"),
}
OUTCOMES = {"delivered": "success", "failed": "failure", "succeeded": "success"}


@dataclass(frozen=True)
class Origin:
    """Where the event was read from."""

    topic: str
    partition: int
    offset: int
    key: str
    trace_id: str


@cache
def kebab(name: str) -> str:
    """IncidentOpened -> incident-opened."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


_last_ingested: tuple[datetime | None, str] = (None, "")


def _isoformat(ingested: datetime) -> str:
    """`ingested` is one object for a whole batch: formatted once (by identity, not equality:
    equal instants in other offsets format differently)."""
    global _last_ingested
    last = _last_ingested
    if last[0] is not ingested:
        last = _last_ingested = (ingested, ingested.isoformat())
    return last[1]


def index_for(prefix: str, occurred_at: datetime) -> str:
    """Monthly index by the event's own time, so a redelivery always targets the same index."""
    return f"{prefix}-{occurred_at.year:04d}.{occurred_at.month:02d}"


def audit_document(
    record: str, payload: dict[str, Any], origin: Origin, ingested: datetime
) -> dict[str, Any]:
    """The ECS document for one event (payload is the event as an Avro-shaped dict)."""
    meta = payload["metadata"]
    kind, category, types, outcome = CATEGORIES.get(
        record, ("event", ["host"], ["info"], "unknown")
    )
    status = payload.get("status")
    if isinstance(status, str):
        outcome = OUTCOMES.get(status, outcome)
    doc: dict[str, Any] = {
        "@timestamp": meta["occurred_at"].isoformat(),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "id": meta["event_id"],
            "kind": kind,
            "category": category,
            "type": types,
            "action": kebab(record),
            "outcome": outcome,
            "dataset": f"commandcenter.{origin.topic}",
            "provider": meta["producer"],
            "ingested": _isoformat(ingested),
        },
        "service": {"name": meta["producer"]},
        "message": _message(record, payload),
        "labels": {k: v for k, v in (payload.get("labels") or {}).items() if isinstance(v, str)},
        "kafka": {
            "topic": origin.topic,
            "partition": origin.partition,
            "offset": origin.offset,
            "key": origin.key,
        },
        "commandcenter": {
            "record": record,
            "correlation_id": meta.get("correlation_id"),
            "incident_id": meta.get("incident_id") or payload.get("incident_id"),
            "causation_id": meta.get("causation_id"),
            "payload": _flatten_for_search(payload),
        },
    }
    _add_subject_and_times(record, payload, doc)
    if origin.trace_id:
        doc["trace"] = {"id": origin.trace_id}
    if actor := actor_of(payload):
        doc["user"] = {"name": actor}
    return doc


def actor_of(payload: dict[str, Any]) -> str:
    """The person (or service) who decided, synced or proposed: ECS `user.name`."""
    for field in ("decided_by", "initiator", "proposer"):
        value = payload.get(field)
        if isinstance(value, str) and value and value != "automated":
            return value
    return ""


def _add_subject_and_times(record: str, payload: dict[str, Any], doc: dict[str, Any]) -> None:
    """What the event is about (service, environment) and its span of time, for the KPIs."""
    service, environment = subject_of(record, payload)
    doc["commandcenter"]["service"] = service
    doc["commandcenter"]["environment"] = environment
    start = payload.get("opened_at") if record == "IncidentResolved" else payload.get("started_at")
    end = payload["metadata"]["occurred_at"] if record == "IncidentResolved" else None
    end = end or payload.get("finished_at")
    if isinstance(start, datetime) and isinstance(end, datetime):
        doc["event"].update(start=start.isoformat(), end=end.isoformat())
        nanos = int((end - start).total_seconds() * 1e9)
        if abs(nanos) < LONG_MAX:  # an absurd span (a clock centuries off) would overflow a long
            doc["event"]["duration"] = nanos
    commit_time = payload.get("commit_time")
    deployed = payload.get("finished_at") or payload["metadata"]["occurred_at"]
    if isinstance(commit_time, datetime) and isinstance(deployed, datetime):
        doc["commandcenter"]["lead_time_seconds"] = (deployed - commit_time).total_seconds()


def subject_of(record: str, payload: dict[str, Any]) -> tuple[str, str]:
    """The service and environment an event concerns ('' when it does not say)."""
    if record == "DeploymentObserved":
        labels = _application_labels(payload.get("raw") or "{}")
        service = labels.get("service") or labels.get("app") or payload.get("application", "")
        return str(service), str(labels.get("environment") or labels.get("env") or "")
    for holder in ("signature", "target"):
        if isinstance(found := payload.get(holder), dict):
            return str(found.get("service", "")), str(found.get("environment", ""))
    if record == "AlertReceived":
        labels = payload.get("labels") or {}
        return labels.get("service", ""), labels.get("env") or labels.get("environment", "")
    return str(payload.get("service") or ""), str(payload.get("environment") or "")


def _application_labels(raw: str) -> dict[str, Any]:
    """metadata.labels of the Argo CD Application in a DeploymentObserved's raw body."""
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    app = body.get("app") if isinstance(body, dict) else None
    labels = ((app or {}).get("metadata") or {}).get("labels") if isinstance(app, dict) else None
    return labels if isinstance(labels, dict) else {}


def _message(record: str, payload: dict[str, Any]) -> str:
    for field in ("summary", "title", "description", "rationale", "resolution", "change"):
        if isinstance(payload.get(field), str) and payload[field]:
            return f"{record}: {payload[field]}"
    return record


def _flatten_for_search(payload: dict[str, Any]) -> dict[str, Any]:
    """Keep the whole event, with values as strings (what a `flattened` field indexes)."""
    return _strings(payload)


def _strings(mapping: dict[str, Any]) -> dict[str, Any]:
    # inlined type dispatch: this runs for every field of every event (bench/audit)
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        kind = type(value)
        if kind is str:
            out[key] = value
        elif value is None:
            continue
        elif kind is dict:
            out[key] = _strings(value)
        elif kind is list:
            out[key] = [_string(v) for v in value]
        else:
            out[key] = _string(value)
    return out


def _string(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        return _strings(value)
    if kind is list:
        return [_string(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
