"""Chaining in the handler: redeliveries, partial bulks, duplicates and refusals never fork it."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from opentelemetry import trace

from cc.events import AuditAnchor
from cc.kafka import Received, RetryableError
from cc.testing.events import T0, notification_sent
from compliance_auditor.adapters.memory_store import MemoryAuditStore
from compliance_auditor.domain.chain import GENESIS, content_ok, document_hash
from compliance_auditor.domain.verification import Record, walk
from compliance_auditor.handlers import Auditor

TOPIC = "notifications.notification-sent.v1"


def message(i: int, *, partition: int = 0, key: str | None = None) -> Received:
    event = notification_sent(key or f"p{partition}-{i}")
    return Received(event, TOPIC, partition, i, f"k{i}", [], trace.INVALID_SPAN)


def batch(start: int, end: int, partition: int = 0) -> list[Received]:
    return [message(i, partition=partition, key=f"p{partition}-{i}") for i in range(start, end)]


def auditor(store: MemoryAuditStore) -> Auditor:
    return Auditor(store, index_prefix="t-audit")


def verified(store: MemoryAuditStore, stream: str = f"{TOPIC}/0") -> list[int]:
    """The stream's seqs, after checking it walks clean."""
    docs = store.chain(stream)
    result = walk(stream, [Record.from_hit(d["event"]["id"], d) for d in docs])
    assert result.problem is None, result.problem
    return [d["commandcenter"]["chain"]["seq"] for d in docs]


def test_documents_are_chained_in_offset_order() -> None:
    store = MemoryAuditStore()
    auditor(store).on_events(batch(0, 5))
    docs = store.chain(f"{TOPIC}/0")
    assert [d["kafka"]["offset"] for d in docs] == [0, 1, 2, 3, 4]
    assert docs[0]["commandcenter"]["chain"]["prev_hash"] == GENESIS
    for before, after in pairwise(docs):
        assert (
            after["commandcenter"]["chain"]["prev_hash"] == before["commandcenter"]["chain"]["hash"]
        )
        assert after["commandcenter"]["chain"]["prev_id"] == before["event"]["id"]
    assert all(content_ok(d["event"]["id"], d) for d in docs)
    assert verified(store) == [1, 2, 3, 4, 5]


def test_a_batch_written_in_several_chunks_chains_across_them() -> None:
    store = MemoryAuditStore()
    a = Auditor(store, index_prefix="t-audit", chunk=3)
    a.on_events(batch(0, 10) + batch(0, 4, partition=1))
    a.on_events(batch(10, 17))
    assert verified(store) == list(range(1, 18))
    assert verified(store, f"{TOPIC}/1") == [1, 2, 3, 4]


def test_each_partition_is_its_own_chain() -> None:
    store = MemoryAuditStore()
    a = auditor(store)
    a.on_events([message(0, partition=0), message(1, partition=1), message(2, partition=0)])
    assert verified(store, f"{TOPIC}/0") == [1, 2]
    assert verified(store, f"{TOPIC}/1") == [1]


def test_a_redelivered_batch_neither_duplicates_nor_forks() -> None:
    store = MemoryAuditStore()
    auditor(store).on_events(batch(0, 10))
    before = {k: v[1]["commandcenter"]["chain"]["hash"] for k, v in store.docs.items()}
    restarted = auditor(store)  # a new process: heads come from the store
    restarted.on_events(batch(5, 15))
    assert len(store.docs) == 15
    assert all(store.docs[k][1]["commandcenter"]["chain"]["hash"] == h for k, h in before.items())
    assert verified(store) == list(range(1, 16))


def test_a_bulk_interrupted_midway_is_completed_identically_on_retry() -> None:
    store = MemoryAuditStore()
    a = auditor(store)
    a.on_events(batch(0, 3))
    store.fail_after = 4
    items = batch(3, 10)
    with pytest.raises(RetryableError):
        a.on_events(items)
    assert len(store.docs) == 7
    a.on_events(items)  # the loop retries the same batch
    assert len(store.docs) == 10
    assert verified(store) == list(range(1, 11))


def test_chunks_ramp_up_and_a_multi_get_failing_midway_fails_the_batch_for_a_retry() -> None:
    store = MemoryAuditStore()
    a = Auditor(store, index_prefix="t-audit", chunk=8, ramp=4)
    assert a._spans(20) == [(0, 2), (2, 6), (6, 14), (14, 20)]
    lookup, calls = store.lookup, []

    def failing_third(keys: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        calls.append(len(keys))
        if len(calls) == 3:
            raise RetryableError("multi-get timed out")
        return lookup(keys)

    store.lookup = failing_third  # type: ignore[method-assign]
    items = batch(0, 20)
    with pytest.raises(RetryableError, match="multi-get"):
        a.on_events(items)
    assert 0 < len(store.docs) < 20  # the first chunks were written before the failure
    store.lookup = lookup  # type: ignore[method-assign]
    a.on_events(items)
    assert verified(store) == list(range(1, 21))


def test_after_a_crash_a_gap_left_by_a_partial_bulk_is_filled_with_the_same_hash() -> None:
    """Only some documents of a batch landed (another shard refused the rest), then SIGKILL."""
    store = MemoryAuditStore()
    auditor(store).on_events(batch(0, 10))
    lost = [d for d in store.chain(f"{TOPIC}/0") if d["kafka"]["offset"] in (4, 5)]
    for doc in lost:
        del store.docs[doc["event"]["id"]]
    auditor(store).on_events(batch(0, 10))  # redelivered from the last commit
    for doc in lost:  # rebuilt: only event.ingested differs, and the hash leaves it out
        again = store.docs[doc["event"]["id"]][1]
        assert again["commandcenter"] == doc["commandcenter"]
        assert {**again, "event": {}} == {**doc, "event": {}}
    assert verified(store) == list(range(1, 11))


def test_a_duplicate_event_at_a_later_offset_is_not_chained_again() -> None:
    store = MemoryAuditStore()
    a = auditor(store)
    a.on_events(batch(0, 3))
    a.on_events([message(3, key="p0-1"), message(4)])  # offset 3 repeats the event of offset 1
    assert verified(store) == [1, 2, 3, 4]
    assert [d["kafka"]["offset"] for d in store.chain(f"{TOPIC}/0")] == [0, 1, 2, 4]


def test_a_gap_in_offsets_rereads_the_head_from_the_store() -> None:
    store = MemoryAuditStore()
    first, second = auditor(store), auditor(store)
    first.on_events(batch(0, 3))
    second.on_events(batch(3, 6))  # another instance took the partition meanwhile
    first.on_events(batch(6, 8))  # and gave it back
    assert verified(store) == list(range(1, 9))


def test_a_document_refused_for_good_keeps_its_place_as_a_placeholder() -> None:
    store = MemoryAuditStore()

    def refuse(doc: dict[str, Any]) -> str | None:  # the full document at offset 2 only
        if doc["kafka"]["offset"] == 2 and "payload" in doc["commandcenter"]:
            return "mapper_parsing_exception"
        return None

    store.refuse = refuse
    items = batch(0, 5)
    auditor(store).on_events(items)
    assert "mapper_parsing_exception" in str(items[2].error)
    docs = store.chain(f"{TOPIC}/0")
    assert "rejected" in docs[2]["commandcenter"]
    assert verified(store) == [1, 2, 3, 4, 5]


def test_conflicting_writes_are_retried_after_rereading() -> None:
    store = MemoryAuditStore()
    a = auditor(store)
    items = batch(0, 3)
    lookup = store.lookup
    store.lookup = lambda keys: {}  # type: ignore[method-assign]  # as if written meanwhile
    a.on_events(items[:1])
    with pytest.raises(RetryableError, match="meanwhile"):
        a.on_events(items)
    store.lookup = lookup  # type: ignore[method-assign]
    a.on_events(items)
    assert verified(store) == [1, 2, 3]


def test_the_hash_covers_everything_but_ingested() -> None:
    store = MemoryAuditStore()
    auditor(store).on_events(batch(0, 1))
    ((_, doc),) = store.docs.values()
    original = document_hash(doc)
    doc["event"]["ingested"] = "2030-01-01T00:00:00+00:00"
    assert document_hash(doc) == original
    doc["commandcenter"]["payload"]["destination"] = "#elsewhere"
    assert document_hash(doc) != original


def test_ticks_publish_each_moved_head_once_per_interval() -> None:
    store = MemoryAuditStore()
    a = Auditor(store, index_prefix="t-audit", anchor_topic="anchors", anchor_every=timedelta(30))
    a.on_events(batch(0, 3) + batch(0, 2, partition=1))
    first = a.tick(T0)
    assert sorted((o.key, o.event.seq) for o in first) == [(f"{TOPIC}/0", 3), (f"{TOPIC}/1", 2)]
    anchor = first[0].event
    assert isinstance(anchor, AuditAnchor) and first[0].topic == "anchors"
    assert anchor.hash == store.chain(f"{TOPIC}/0")[-1]["commandcenter"]["chain"]["hash"]
    assert anchor.trail == "t-audit"
    a.on_events([message(3)])
    assert a.tick(T0 + timedelta(days=1)) == []  # not yet time
    later = a.tick(T0 + timedelta(days=31))
    assert [(o.key, o.event.seq) for o in later] == [(f"{TOPIC}/0", 4)]  # only what moved
