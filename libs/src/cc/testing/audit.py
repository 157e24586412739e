"""Reading the audit trail back in tests and in `make run`."""

from __future__ import annotations

from typing import Any

import httpx

AUDIT_ALIAS = "cc-audit"
# no audit index yet (404), or its shard is still being allocated right after creation (503)
NOT_YET = (404, 503)


def search(es_url: str, query: dict[str, Any], size: int = 10_000) -> list[dict[str, Any]]:
    """Documents matching a query across the audit alias (refreshed first, so writes show)."""
    httpx.post(f"{es_url}/{AUDIT_ALIAS}/_refresh", timeout=30)
    response = httpx.post(
        f"{es_url}/{AUDIT_ALIAS}/_search",
        json={"query": query, "size": size, "sort": [{"@timestamp": "asc"}]},
        timeout=30,
    )
    if response.status_code in NOT_YET:
        return []
    response.raise_for_status()
    hits: list[dict[str, Any]] = response.json()["hits"]["hits"]
    return hits


def count(es_url: str, query: dict[str, Any]) -> int:
    """How many audit documents match."""
    httpx.post(f"{es_url}/{AUDIT_ALIAS}/_refresh", timeout=30)
    response = httpx.post(f"{es_url}/{AUDIT_ALIAS}/_count", json={"query": query}, timeout=30)
    if response.status_code in NOT_YET:
        return 0
    response.raise_for_status()
    total: int = response.json()["count"]
    return total
