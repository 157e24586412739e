"""The audit store in Elasticsearch: bulk `create` with the event id as `_id`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from cc.kafka import RetryableError
from compliance_auditor.ports import AuditWrite, WriteResult

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
LOOKUP_FIELDS = ["kafka", "commandcenter.chain", "event.id"]


@contextmanager
def retryable(what: str) -> Iterator[None]:
    """Unreachable, timed out or refusing (429/5xx) Elasticsearch becomes a RetryableError."""
    try:
        yield
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise RetryableError(f"elasticsearch unreachable ({what}): {exc}") from exc
    except ApiError as exc:
        if exc.meta.status in RETRYABLE_STATUS:
            raise RetryableError(f"elasticsearch refused {what}: HTTP {exc.meta.status}") from exc
        raise


class ElasticsearchAuditStore:
    """Writes audit documents in bulk requests of at most `bulk_docs` / `bulk_bytes`."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        index_prefix: str = "cc-audit",
        bulk_docs: int = 1000,
        bulk_bytes: int = 8_000_000,
    ) -> None:
        self.client = client
        self.index_prefix = index_prefix
        self.bulk_docs = bulk_docs
        self.bulk_bytes = bulk_bytes

    def ready(self) -> bool:
        """Cluster health is yellow or green."""
        try:
            health = self.client.options(request_timeout=2).cluster.health(timeout="1s")
        except (ApiError, TransportConnectionError, ConnectionTimeout):
            return False
        return health["status"] in ("yellow", "green")

    def write(self, writes: list[AuditWrite]) -> WriteResult:
        """Bulk-create; retryable trouble raises, refusals and 409s are reported by position."""
        result = WriteResult()
        for start, chunk in self._chunks(writes):
            lines: list[bytes] = []
            for w in chunk:
                lines.append(orjson.dumps({"create": {"_index": w.index, "_id": w.doc_id}}))
                lines.append(orjson.dumps(w.document) if w.source is None else w.source)
            lines.append(b"")
            with retryable("a bulk request"):
                # pre-serialised NDJSON (orjson): the client forwards bytes as they are
                response = self.client.bulk(
                    operations=cast(Any, b"\n".join(lines)),
                    filter_path=["errors", "items.*.status", "items.*.error"],
                )
            retry = False
            for i, item in enumerate(response["items"]):
                status = item["create"].get("status", 0)
                if status in (200, 201):
                    continue
                if status == 409:
                    result.conflicts.append(start + i)
                elif status in RETRYABLE_STATUS:
                    retry = True
                else:
                    error = item["create"].get("error", {})
                    result.rejected[start + i] = json.dumps(error)[:1000]
            if retry:
                raise RetryableError("elasticsearch refused part of a bulk request (429/5xx)")
        return result

    def _chunks(self, writes: list[AuditWrite]) -> Iterator[tuple[int, list[AuditWrite]]]:
        start, size = 0, 0
        for i, w in enumerate(writes):
            approx = len(w.source) if w.source is not None else len(w.document.get("message", ""))
            approx += 2000 if w.source is None else 100
            if i > start and (i - start >= self.bulk_docs or size + approx > self.bulk_bytes):
                yield start, writes[start:i]
                start, size = i, 0
            size += approx
        if start < len(writes):
            yield start, writes[start:]

    def lookup(self, keys: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """Stored documents among these (realtime: sees writes not yet refreshed)."""
        if not keys:
            return {}
        indices = {index for index, _ in keys}
        single = next(iter(indices)) if len(indices) == 1 else None
        if single is not None:  # the usual case: one month; the shorter form, serialised once
            body = orjson.dumps({"ids": [doc_id for _, doc_id in keys]})
        else:
            body = orjson.dumps({"docs": [{"_index": i, "_id": doc_id} for i, doc_id in keys]})
        with retryable("a multi-get"):
            response = self.client.mget(
                index=single,
                body=cast(Any, body),
                source_includes=LOOKUP_FIELDS,
                filter_path=["docs._id", "docs.found", "docs._source", "docs.error"],
            )
        found: dict[str, dict[str, Any]] = {}
        for doc in response["docs"]:
            if doc.get("found"):
                found[doc["_id"]] = doc["_source"]
            elif "error" in doc and doc["error"].get("type") != "index_not_found_exception":
                raise RetryableError(f"elasticsearch multi-get failed: {doc['error']}")
        return found

    def last_chained(self, stream: str, before_offset: int) -> dict[str, Any] | None:
        """The stream's chained document with the highest offset below `before_offset`."""
        pattern = f"{self.index_prefix}-*"
        with retryable("a refresh"):
            self.client.indices.refresh(index=pattern, allow_no_indices=True)
        with retryable("a search"):
            response = self.client.search(
                index=pattern,
                allow_no_indices=True,
                query={
                    "bool": {
                        "filter": [
                            {"term": {"commandcenter.chain.stream": stream}},
                            {"range": {"kafka.offset": {"lt": before_offset}}},
                        ]
                    }
                },
                sort=[{"kafka.offset": "desc"}],
                size=1,
                source_includes=LOOKUP_FIELDS,
            )
        hits = response["hits"]["hits"]
        return None if not hits else dict(hits[0]["_source"])


def install_template(client: Elasticsearch, prefix: str, template_file: Path) -> dict[str, Any]:
    """Put the project's index template for `<prefix>-*` behind the alias `<prefix>`, bring
    existing indices' mappings up to it (new fields only), and attach an ILM policy where the
    cluster has ILM (the local integ-test distribution has not)."""
    body: dict[str, Any] = json.loads(template_file.read_text())
    body["index_patterns"] = [f"{prefix}-*"]
    template = body["template"]
    template["aliases"] = {prefix: {}}
    if "_meta" in body:
        body["meta"] = body.pop("_meta")  # the client's name for the `_meta` field
    if ilm_available(client):
        policy = f"{prefix}-policy"
        client.ilm.put_lifecycle(name=policy, policy=READ_ONLY_AFTER_THE_MONTH)
        template["settings"]["index.lifecycle.name"] = policy
    client.indices.put_index_template(name=prefix, **body)
    if client.indices.exists(index=f"{prefix}-*", allow_no_indices=False):
        upgrade_mappings(client, prefix, template["mappings"])
    return body


def upgrade_mappings(client: Elasticsearch, prefix: str, mappings: dict[str, Any]) -> None:
    """Give existing indices the template's new fields. Settings an index cannot change
    (`subobjects` of `labels` on indices made by the first template) are left as they are."""
    try:
        client.indices.put_mapping(index=f"{prefix}-*", **mappings)
        return
    except ApiError as exc:
        log.warning(
            "full mapping update refused, retrying without labels", extra={"error": str(exc)}
        )
    properties = {k: v for k, v in mappings["properties"].items() if k != "labels"}
    client.indices.put_mapping(index=f"{prefix}-*", **{**mappings, "properties": properties})


# Closed months become read-only: one more obstacle to editing the trail in place.
READ_ONLY_AFTER_THE_MONTH: dict[str, Any] = {
    "phases": {
        "hot": {"min_age": "0ms", "actions": {}},
        "warm": {"min_age": "35d", "actions": {"readonly": {}}},
    }
}


def ilm_available(client: Elasticsearch) -> bool:
    """Whether the cluster offers index lifecycle management."""
    try:
        client.ilm.get_status()
    except ApiError:  # the integ-test distribution answers 400: no handler for /_ilm/status
        return False
    return True
