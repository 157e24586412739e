"""An in-memory audit store with Elasticsearch's create semantics, for unit tests.

It can fail like the real one: a bulk that stores only some documents and then raises
`RetryableError` (`fail_after`), per-document refusals (`refuse`), and documents that appear
behind the auditor's back (another writer, a timed-out request that landed).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from cc.kafka import RetryableError
from compliance_auditor.ports import AuditWrite, WriteResult


class MemoryAuditStore:
    """Documents by id; `write` creates, 409 on an existing id."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[str, dict[str, Any]]] = {}
        self.fail_after: int | None = None
        """Store this many more documents, then raise RetryableError (once)."""
        self.refuse: Callable[[dict[str, Any]], str | None] = lambda _doc: None
        """A reason to refuse a document for good, or None."""
        self.down = False
        self.writes = 0

    def write(self, writes: list[AuditWrite]) -> WriteResult:
        """Create each document in order (a partial failure leaves the ones before it)."""
        self._check()
        result = WriteResult()
        for i, w in enumerate(writes):
            if self.fail_after is not None:
                if self.fail_after == 0:
                    self.fail_after = None
                    raise RetryableError("bulk interrupted")
                self.fail_after -= 1
            if w.doc_id in self.docs:
                result.conflicts.append(i)
                continue
            reason = self.refuse(w.document)
            if reason is not None:
                result.rejected[i] = reason
                continue
            self.docs[w.doc_id] = (w.index, copy.deepcopy(w.document))
            self.writes += 1
        return result

    def lookup(self, keys: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """Stored documents among these ids."""
        self._check()
        found = {}
        for _, doc_id in keys:
            if doc_id in self.docs:  # only what the real lookup returns
                doc = self.docs[doc_id][1]
                chain = (
                    {"chain": doc["commandcenter"]["chain"]}
                    if "chain" in doc["commandcenter"]
                    else {}
                )
                found[doc_id] = {
                    "kafka": doc["kafka"],
                    "event": {"id": doc_id},
                    "commandcenter": chain,
                }
        return found

    def last_chained(self, stream: str, before_offset: int) -> dict[str, Any] | None:
        """The stream's chained document with the highest offset below `before_offset`."""
        self._check()
        best: dict[str, Any] | None = None
        for _, doc in self.docs.values():
            chain = doc.get("commandcenter", {}).get("chain") or {}
            offset = doc["kafka"]["offset"]
            mine = chain.get("stream") == stream and offset < before_offset
            if mine and (best is None or offset > best["kafka"]["offset"]):
                best = doc
        return best

    def chain(self, stream: str) -> list[dict[str, Any]]:
        """The stream's documents by seq."""
        found = [
            d
            for _, d in self.docs.values()
            if d["commandcenter"].get("chain", {}).get("stream") == stream
        ]
        return sorted(found, key=lambda d: d["commandcenter"]["chain"]["seq"])

    def _check(self) -> None:
        if self.down:
            raise RetryableError("store down")
