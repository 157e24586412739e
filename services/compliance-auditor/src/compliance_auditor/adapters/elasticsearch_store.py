"""The audit store in Elasticsearch: bulk `create` with the event id as `_id`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from cc.kafka import RetryableError
from compliance_auditor.ports import AuditWrite

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class ElasticsearchAuditStore:
    """Writes audit documents; 201 and 409 (already stored) both mean stored."""

    def __init__(self, client: Elasticsearch) -> None:
        self.client = client

    def install_template(self, name: str, template_file: Path) -> None:
        """Put the project's index template (idempotent)."""
        body: dict[str, Any] = json.loads(template_file.read_text())
        if "_meta" in body:
            body["meta"] = body.pop("_meta")  # the client's name for the `_meta` field
        self.client.indices.put_index_template(name=name, **body)

    def ready(self) -> bool:
        """Cluster health is yellow or green."""
        try:
            health = self.client.cluster.health(timeout="1s")
        except (ApiError, TransportConnectionError, ConnectionTimeout):
            return False
        return health["status"] in ("yellow", "green")

    def write(self, writes: list[AuditWrite]) -> dict[int, str]:
        """One bulk request; retryable trouble raises, permanent per-document errors return."""
        operations: list[dict[str, Any]] = []
        for w in writes:
            operations.append({"create": {"_index": w.index, "_id": w.doc_id}})
            operations.append(w.document)
        try:
            response = self.client.bulk(operations=operations)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise RetryableError(f"elasticsearch unreachable: {exc}") from exc
        except ApiError as exc:
            if exc.meta.status in RETRYABLE_STATUS:
                raise RetryableError(f"elasticsearch bulk refused: HTTP {exc.meta.status}") from exc
            raise
        failed: dict[int, str] = {}
        retry = False
        for i, item in enumerate(response["items"]):
            result = item["create"]
            status = result.get("status", 0)
            if status in (200, 201, 409):
                continue
            if status in RETRYABLE_STATUS:
                retry = True
            else:
                failed[i] = json.dumps(result.get("error", {}))[:1000]
        if retry:
            raise RetryableError("elasticsearch refused part of a bulk request (429/5xx)")
        return failed
