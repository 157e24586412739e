"""The audit API: auth on every endpoint (and in OpenAPI), filters, cursors, 422s naming fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from cc.platform.auth import Principal, Role, TokenTable
from compliance_auditor.api.app import build_api
from compliance_auditor.api.context import ApiContext
from compliance_auditor.api.search import (
    Filters,
    decode_cursor,
    encode_cursor,
    search_query,
)
from compliance_auditor.verify import Report

TOKENS = TokenTable.parse(
    "vera:viewer:viewer-token-0123456789\nolga:operator:operator-token-0123456\n", "test"
)
VIEWER = {"Authorization": "Bearer viewer-token-0123456789"}


class FakeElasticsearch:
    """Answers searches with canned hits and records the requests."""

    def __init__(self, hits: list[dict[str, Any]] | None = None) -> None:
        self.hits = hits or []
        self.requests: list[dict[str, Any]] = []

    def search(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        size = request.get("size", 10)
        return {"hits": {"total": {"value": len(self.hits)}, "hits": self.hits[:size]}}


def hit(i: int) -> dict[str, Any]:
    return {
        "_id": f"id-{i}",
        "_index": "cc-audit-2026.11",
        "_source": {"event": {"id": f"id-{i}"}},
        "sort": [1_700_000_000_000 + i, f"id-{i}"],
    }


def kpis_router(ctx: ApiContext) -> APIRouter:
    """What the KPI/report routers look like: built from the same context, same auth."""
    router = APIRouter(prefix="/kpis")

    @router.get("/ping")
    def ping(who: Principal = Depends(ctx.require(Role.VIEWER))) -> dict[str, str]:  # noqa: B008
        return {"who": who.name}

    return router


@pytest.fixture
def es() -> FakeElasticsearch:
    return FakeElasticsearch([hit(i) for i in range(3)])


@pytest.fixture
def client(es: FakeElasticsearch) -> TestClient:
    ctx = ApiContext(client=es, trail="cc-audit", tokens=TOKENS, verify=lambda s: Report())  # type: ignore[arg-type]
    return TestClient(build_api(ctx, extra_routers=[kpis_router]))


@pytest.mark.parametrize("path", ["/audit/search", "/audit/verify", "/audit/records/x"])
def test_every_endpoint_wants_a_known_bearer_token(client: TestClient, path: str) -> None:
    missing = client.get(path)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_viewers_search_and_verify(client: TestClient) -> None:
    found = client.get("/audit/search", headers=VIEWER)
    assert found.status_code == 200
    assert [h["id"] for h in found.json()["hits"]] == ["id-0", "id-1", "id-2"]
    assert client.get("/audit/verify", headers=VIEWER).json()["ok"] is True
    assert client.get("/kpis/ping", headers=VIEWER).json() == {"who": "vera"}


def test_openapi_states_the_auth_of_every_audit_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, methods in spec["paths"].items():
        for operation in methods.values():
            assert operation["security"] == [{"HTTPBearer": []}], path
            if path.startswith("/audit"):
                assert {"401", "403"} <= set(operation["responses"]), path
                assert "viewer" in operation["summary"], path


def test_filters_become_one_query(client: TestClient, es: FakeElasticsearch) -> None:
    params = {
        "from": "2026-11-01T00:00:00Z",
        "to": "2026-12-01T00:00:00Z",
        "service": "checkout",
        "environment": "production",
        "actor": "alice",
        "event_type": "RemediationDecided",
        "incident_id": "inc-1",
        "trace_id": "ab" * 16,
        "q": "rollback",
    }
    assert client.get("/audit/search", params=params, headers=VIEWER).status_code == 200
    (request,) = es.requests
    filters = request["query"]["bool"]["filter"]
    assert {"terms": {"commandcenter.service": ["checkout"]}} in filters
    assert {"terms": {"commandcenter.environment": ["production"]}} in filters
    assert {"terms": {"user.name": ["alice"]}} in filters
    assert {"term": {"commandcenter.incident_id": "inc-1"}} in filters
    assert {"term": {"trace.id": "ab" * 16}} in filters
    assert request["query"]["bool"]["must"][0]["simple_query_string"]["query"] == "rollback"
    assert request["sort"] == [{"@timestamp": "desc"}, {"event.id": "desc"}]


def test_pages_chain_with_search_after(client: TestClient, es: FakeElasticsearch) -> None:
    first = client.get("/audit/search", params={"size": 2}, headers=VIEWER).json()
    assert first["next"] is not None
    client.get("/audit/search", params={"size": 2, "search_after": first["next"]}, headers=VIEWER)
    assert es.requests[1]["search_after"] == hit(1)["sort"]
    last = client.get("/audit/search", params={"size": 5}, headers=VIEWER).json()
    assert last["next"] is None, "a short page is the last"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "to"),
        ({"trace_id": "not-hex"}, "trace_id"),
        ({"size": 0}, "size"),
        ({"order": "sideways"}, "order"),
        ({"search_after": "%%%"}, "search_after"),
        ({"search_after": encode_cursor(["only-one"])}, "search_after"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/audit/search", params=params, headers=VIEWER)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_cursor_round_trip_and_empty_filters() -> None:
    assert decode_cursor(encode_cursor([1, "x"])) == [1, "x"]
    assert search_query(Filters()) == {"bool": {"filter": []}}
    naive = search_query(Filters(start=datetime(2026, 11, 1)))
    aware = search_query(Filters(start=datetime(2026, 11, 1, tzinfo=UTC)))
    assert naive == aware
