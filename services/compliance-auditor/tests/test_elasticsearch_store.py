"""The Elasticsearch store's reading of bulk answers (the real server is in tests/integration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from elastic_transport import ApiResponseMeta, ConnectionTimeout, HttpHeaders
from elasticsearch import ApiError

from cc.kafka import RetryableError
from compliance_auditor.adapters.elasticsearch_store import (
    ElasticsearchAuditStore,
    install_template,
)
from compliance_auditor.ports import AuditWrite

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy/elasticsearch/audit-index-template.json"


class FakeClient:
    """Answers bulk requests with the statuses given, per document, in order."""

    def __init__(self, statuses: list[int] | None = None, fail: Exception | None = None) -> None:
        self.statuses = list(statuses or [])
        self.fail = fail
        self.requests: list[list[dict[str, Any]]] = []

    def bulk(self, operations: bytes, **_: Any) -> dict[str, Any]:
        if self.fail is not None:
            raise self.fail
        lines = [orjson.loads(line) for line in operations.splitlines()]
        actions = lines[::2]
        self.requests.append(actions)
        items = []
        for _action in actions:
            status = self.statuses.pop(0) if self.statuses else 201
            item: dict[str, Any] = {"status": status}
            if status >= 400:
                item["error"] = {"type": f"error-{status}"}
            items.append({"create": item})
        return {"errors": any(i["create"]["status"] >= 300 for i in items), "items": items}


def writes(n: int) -> list[AuditWrite]:
    return [AuditWrite("i", f"id-{i}", {"message": "m", "n": i}) for i in range(n)]


def store(client: FakeClient, bulk_docs: int = 1000) -> ElasticsearchAuditStore:
    return ElasticsearchAuditStore(client, bulk_docs=bulk_docs)  # type: ignore[arg-type]


def test_documents_go_out_as_creates_with_the_event_id_in_bulks_of_the_set_size() -> None:
    client = FakeClient()
    assert store(client, bulk_docs=4).write(writes(10)).rejected == {}
    assert [len(r) for r in client.requests] == [4, 4, 2]
    assert client.requests[2][1] == {"create": {"_index": "i", "_id": "id-9"}}


def test_refusals_and_conflicts_are_reported_by_position_across_bulks() -> None:
    client = FakeClient([201, 400, 201, 409, 201])
    result = store(client, bulk_docs=2).write(writes(5))
    assert result.rejected == {1: '{"type": "error-400"}'}
    assert result.conflicts == [3]


@pytest.mark.parametrize("status", [429, 503])
def test_a_refused_bulk_item_that_may_pass_later_is_retryable(status: int) -> None:
    with pytest.raises(RetryableError, match="429/5xx"):
        store(FakeClient([201, status])).write(writes(2))


def test_an_unreachable_or_slow_cluster_is_retryable() -> None:
    with pytest.raises(RetryableError, match="unreachable"):
        store(FakeClient(fail=ConnectionTimeout("timed out"))).write(writes(1))


class Recorder:
    """Records calls by name; `answers` gives a callable's result (or raises it)."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]], answers: dict[str, Any]) -> None:
        self.calls = calls
        self.answers = answers

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            answer = self.answers.get(name)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


class TemplateClient:
    def __init__(self, *, ilm: bool, existing: bool) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        meta = ApiResponseMeta(400, "1.1", HttpHeaders(), 0.0, None)  # type: ignore[arg-type]
        no_ilm = ApiError("no handler found for uri [/_ilm/status]", meta, {})
        self.ilm = Recorder(self.calls, {"get_status": {} if ilm else no_ilm})
        self.indices = Recorder(self.calls, {"exists": existing})


@pytest.mark.parametrize("ilm", [True, False])
def test_the_template_follows_the_prefix_and_uses_ilm_only_where_the_cluster_has_it(
    ilm: bool,
) -> None:
    client = TemplateClient(ilm=ilm, existing=False)
    body = install_template(client, "trail", TEMPLATE)  # type: ignore[arg-type]
    assert body["index_patterns"] == ["trail-*"]
    assert body["template"]["aliases"] == {"trail": {}}
    names = [name for name, _ in client.calls]
    assert ("put_lifecycle" in names) is ilm
    settings = body["template"]["settings"]
    assert (settings.get("index.lifecycle.name") == "trail-policy") is ilm
    assert "put_mapping" not in names, "no existing index to upgrade"
