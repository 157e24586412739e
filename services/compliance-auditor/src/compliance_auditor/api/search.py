"""Audit search: filters over the trail, paginated with `search_after` (viewer or above)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from compliance_auditor.api.context import ApiContext, elasticsearch_errors, invalid

TRACE_ID = r"^[0-9a-f]{32}$"
# @timestamp orders the trail; event.id (unique) breaks ties so pages never overlap or skip
SORT_FIELDS = ("@timestamp", "event.id")


@dataclass
class Filters:
    """What a search asks for; empty means no restriction."""

    start: datetime | None = None
    end: datetime | None = None
    service: list[str] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)
    actor: list[str] = field(default_factory=list)
    event_type: list[str] = field(default_factory=list)
    producer: list[str] = field(default_factory=list)
    incident_id: str | None = None
    trace_id: str | None = None
    text: str | None = None


def search_query(f: Filters) -> dict[str, Any]:
    """The Elasticsearch query for these filters."""
    must: list[dict[str, Any]] = []
    if f.start is not None or f.end is not None:
        bounds = {"gte": f.start, "lt": f.end}
        must.append({"range": {"@timestamp": {k: _utc(v) for k, v in bounds.items() if v}}})
    for name, values in (
        ("commandcenter.service", f.service),
        ("commandcenter.environment", f.environment),
        ("user.name", f.actor),
        ("service.name", f.producer),
    ):
        if values:
            must.append({"terms": {name: values}})
    if f.event_type:  # a record name (RemediationDecided) or an ECS action (remediation-decided)
        by = [{"terms": {"commandcenter.record": f.event_type}}]
        by.append({"terms": {"event.action": f.event_type}})
        must.append({"bool": {"should": by, "minimum_should_match": 1}})
    if f.incident_id:
        must.append({"term": {"commandcenter.incident_id": f.incident_id}})
    if f.trace_id:
        must.append({"term": {"trace.id": f.trace_id}})
    query: dict[str, Any] = {"bool": {"filter": must}}
    if f.text:
        fields = ["message", "commandcenter.payload", "event.id", "user.name"]
        text = {"simple_query_string": {"query": f.text, "fields": fields, "lenient": True}}
        query["bool"]["must"] = [text]
    return query


def _utc(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def encode_cursor(sort_values: list[Any]) -> str:
    """The opaque `search_after` token for the next page."""
    return base64.urlsafe_b64encode(orjson.dumps(sort_values)).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    """Sort values back from a token; ValueError when it is not one of ours."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, orjson.JSONDecodeError) as exc:
        raise ValueError("not a search_after token from this API") from exc
    if not isinstance(values, list) or len(values) != len(SORT_FIELDS):
        raise ValueError("not a search_after token from this API")
    return values


class Hit(BaseModel):
    """One audit document."""

    id: str
    index: str
    source: dict[str, Any]


class Page(BaseModel):
    """One page of results; pass `next` as `search_after` for the following page."""

    total: int
    hits: list[Hit]
    next: str | None


def search_router(ctx: ApiContext) -> APIRouter:
    """`GET /audit/search` and `GET /audit/records/{event_id}`."""
    router = ctx.router("/audit")

    @router.get("/search", summary="Search the audit trail (bearer token, role viewer or above)")
    def search(
        start: Annotated[
            datetime | None, Query(alias="from", description="ISO 8601, inclusive")
        ] = None,
        end: Annotated[
            datetime | None, Query(alias="to", description="ISO 8601, exclusive")
        ] = None,
        service: Annotated[list[str], Query(description="Service the event is about")] = [],  # noqa: B006
        environment: Annotated[list[str], Query()] = [],  # noqa: B006
        actor: Annotated[list[str], Query(description="user.name: who decided or acted")] = [],  # noqa: B006
        event_type: Annotated[
            list[str],
            Query(description="Record (RemediationDecided) or action (remediation-decided)"),
        ] = [],  # noqa: B006
        producer: Annotated[list[str], Query(description="service.name: who produced it")] = [],  # noqa: B006
        incident_id: Annotated[str | None, Query(max_length=200)] = None,
        trace_id: Annotated[str | None, Query(pattern=TRACE_ID)] = None,
        q: Annotated[str | None, Query(max_length=500, description="Free text")] = None,
        size: Annotated[int, Query(ge=1, le=1000)] = 50,
        order: Literal["desc", "asc"] = "desc",
        search_after: Annotated[
            str | None, Query(description="`next` of the previous page")
        ] = None,
    ) -> Page:
        if start is not None and end is not None and end <= start:
            raise invalid("to", "must be later than 'from'")
        filters = Filters(
            start, end, service, environment, actor, event_type, producer, incident_id, trace_id, q
        )
        extra: dict[str, Any] = {}
        if search_after is not None:
            try:
                extra["search_after"] = decode_cursor(search_after)
            except ValueError as exc:
                raise invalid("search_after", str(exc)) from exc
        with elasticsearch_errors():
            response = ctx.client.search(
                index=ctx.trail,
                query=search_query(filters),
                sort=[{name: order} for name in SORT_FIELDS],
                size=size,
                ignore_unavailable=True,
                allow_no_indices=True,
                **extra,
            )
        hits = response["hits"]["hits"]
        following = encode_cursor(hits[-1]["sort"]) if len(hits) == size else None
        return Page(
            total=response["hits"]["total"]["value"],
            hits=[Hit(id=h["_id"], index=h["_index"], source=h["_source"]) for h in hits],
            next=following,
        )

    @router.get("/records/{event_id}", summary="One audit record by event id (viewer or above)")
    def record(event_id: str) -> Hit:
        with elasticsearch_errors():
            response = ctx.client.search(
                index=ctx.trail,
                query={"ids": {"values": [event_id]}},
                size=1,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
        hits = response["hits"]["hits"]
        if not hits:
            raise HTTPException(404, f"no audit record {event_id}")
        return Hit(id=hits[0]["_id"], index=hits[0]["_index"], source=hits[0]["_source"])

    return router
