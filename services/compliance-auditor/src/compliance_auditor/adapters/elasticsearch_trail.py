"""Reading the audit trail back: its chains in order, for `audit verify`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from elasticsearch import Elasticsearch

CHAIN_STREAM = "commandcenter.chain.stream"


class ElasticsearchTrail:
    """The chained documents behind the alias `trail`."""

    def __init__(self, client: Elasticsearch, trail: str, page: int = 2000) -> None:
        self.client = client
        self.trail = trail
        self.page = page

    def refresh(self) -> None:
        """Make every acknowledged write searchable before walking."""
        self.client.indices.refresh(
            index=self.trail, allow_no_indices=True, ignore_unavailable=True
        )

    def streams(self) -> dict[str, int]:
        """Every stream and how many records it holds."""
        found: dict[str, int] = {}
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": 1000,
                "sources": [{"stream": {"terms": {"field": CHAIN_STREAM}}}],
            }
            if after is not None:
                composite["after"] = after
            response = self.client.search(
                index=self.trail,
                size=0,
                aggs={"streams": {"composite": composite}},
                ignore_unavailable=True,
                allow_no_indices=True,
            )
            agg = response.get("aggregations", {}).get("streams", {})
            for bucket in agg.get("buckets", []):
                found[bucket["key"]["stream"]] = bucket["doc_count"]
            after = agg.get("after_key")
            if not agg.get("buckets") or after is None:
                return found

    def records(self, stream: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(`_id`, `_source`) of the stream's records by seq, then event id."""
        after: list[Any] | None = None
        while True:
            extra: dict[str, Any] = {} if after is None else {"search_after": after}
            response = self.client.search(
                index=self.trail,
                query={"term": {CHAIN_STREAM: stream}},
                sort=[{"commandcenter.chain.seq": "asc"}, {"event.id": "asc"}],
                size=self.page,
                ignore_unavailable=True,
                allow_no_indices=True,
                **extra,
            )
            hits = response["hits"]["hits"]
            for hit in hits:
                yield hit["_id"], hit["_source"]
            if len(hits) < self.page:
                return
            after = hits[-1]["sort"]

    def unchained(self, limit: int = 10) -> tuple[int, list[str]]:
        """How many documents carry no chain at all, and the first few ids."""
        response = self.client.search(
            index=self.trail,
            query={"bool": {"must_not": {"exists": {"field": CHAIN_STREAM}}}},
            sort=[{"@timestamp": "asc"}, {"event.id": "asc"}],
            size=limit,
            track_total_hits=True,
            source=False,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        return response["hits"]["total"]["value"], [h["_id"] for h in response["hits"]["hits"]]
