"""Walking a chain: each kind of tampering is detected and located; an untouched chain is clean."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from opentelemetry import trace

from cc.kafka import Received
from cc.testing.events import notification_sent
from compliance_auditor.adapters.memory_store import MemoryAuditStore
from compliance_auditor.domain.chain import document_hash
from compliance_auditor.domain.verification import Anchor, Record, walk
from compliance_auditor.handlers import Auditor
from compliance_auditor.verify import describe, verify_trail

STREAM = "notifications.notification-sent.v1/0"
Doc = dict[str, Any]


@pytest.fixture
def docs() -> list[Doc]:
    """A clean chain of 20 records."""
    store = MemoryAuditStore()
    items = [
        Received(notification_sent(f"v{i}"), STREAM.split("/")[0], 0, i, "", [], trace.INVALID_SPAN)
        for i in range(20)
    ]
    Auditor(store, index_prefix="t").on_events(items)
    return copy.deepcopy(store.chain(STREAM))


def records(docs: list[Doc]) -> list[Record]:
    ordered = sorted(docs, key=lambda d: (d["commandcenter"]["chain"]["seq"], d["event"]["id"]))
    return [Record.from_hit(d["event"]["id"], d) for d in ordered]


def anchor_at(doc: Doc) -> Anchor:
    chain = doc["commandcenter"]["chain"]
    return Anchor(STREAM, chain["seq"], chain["hash"], doc["event"]["id"])


def seq(doc: Doc) -> int:
    result: int = doc["commandcenter"]["chain"]["seq"]
    return result


def test_an_untouched_chain_verifies_clean(docs: list[Doc]) -> None:
    result = walk(STREAM, records(docs), [anchor_at(docs[9]), anchor_at(docs[-1])])
    assert result.ok and result.records == 20 and result.head_seq == 20
    assert result.anchored_seq == 20


def test_an_edited_field_is_located(docs: list[Doc]) -> None:
    docs[7]["commandcenter"]["payload"]["status"] = "failed"
    problem = walk(STREAM, records(docs)).problem
    assert problem is not None
    assert (problem.kind, problem.record_id, problem.seq) == ("edited", docs[7]["event"]["id"], 8)


def test_an_edit_with_a_recomputed_hash_is_caught_by_the_successor(docs: list[Doc]) -> None:
    docs[7]["user"] = {"name": "mallory"}
    docs[7]["commandcenter"]["chain"]["hash"] = document_hash(docs[7])
    problem = walk(STREAM, records(docs)).problem
    assert problem is not None and (problem.kind, problem.record_id) == (
        "edited",
        docs[7]["event"]["id"],
    )


def test_a_rewritten_tail_is_caught_by_an_anchor(docs: list[Doc]) -> None:
    anchor = anchor_at(docs[15])
    docs[12]["commandcenter"]["payload"]["status"] = "failed"
    for previous, doc in pairwise(docs[11:]):  # edit 13, recompute every hash after: links hold
        doc["commandcenter"]["chain"]["prev_hash"] = previous["commandcenter"]["chain"]["hash"]
        doc["commandcenter"]["chain"]["hash"] = document_hash(doc)
    problem = walk(STREAM, records(docs), [anchor]).problem
    assert problem is not None
    assert (problem.kind, problem.record_id) == ("edited", docs[15]["event"]["id"])
    assert "anchor" in problem.detail


@pytest.mark.parametrize("position", [0, 6, 18])
def test_a_deleted_record_is_located_by_its_successor(docs: list[Doc], position: int) -> None:
    gone = docs.pop(position)
    problem = walk(STREAM, records(docs)).problem
    assert problem is not None
    assert (problem.kind, problem.record_id, problem.seq) == (
        "deleted",
        gone["event"]["id"],
        seq(gone),
    )


@pytest.mark.parametrize("intruder_id", ["00000000-0000-0000-0000-000000000000", "ffffffff-f"])
def test_an_inserted_record_is_located(docs: list[Doc], intruder_id: str) -> None:
    """A forged record claiming seq 5, linked properly and hashed: sorted before or after."""
    forged = copy.deepcopy(docs[4])
    forged["event"]["id"] = intruder_id
    forged["user"] = {"name": "mallory"}
    forged["commandcenter"]["chain"]["hash"] = document_hash(forged)
    problem = walk(STREAM, records([*docs, forged])).problem
    assert problem is not None
    assert (problem.kind, problem.record_id, problem.seq) == ("inserted", intruder_id, 5)


def test_an_inserted_record_with_the_rest_renumbered_is_located(docs: list[Doc]) -> None:
    forged = copy.deepcopy(docs[4])
    forged["event"]["id"] = "forged"
    forged["commandcenter"]["chain"]["hash"] = document_hash(forged)
    for doc in docs[4:]:
        doc["commandcenter"]["chain"]["seq"] += 1
    problem = walk(STREAM, records([*docs, forged])).problem
    assert problem is not None and (problem.kind, problem.record_id) == ("inserted", "forged")


@pytest.mark.parametrize("other", [11, 17])
def test_two_swapped_records_are_reported_as_reordered(docs: list[Doc], other: int) -> None:
    a, b = docs[10]["commandcenter"]["chain"], docs[other]["commandcenter"]["chain"]
    a["seq"], b["seq"] = b["seq"], a["seq"]
    problem = walk(STREAM, records(docs)).problem
    assert problem is not None
    assert (problem.kind, problem.record_id, problem.seq) == (
        "reordered",
        docs[other]["event"]["id"],
        11,
    )


def test_a_truncated_tail_is_caught_by_the_last_anchor(docs: list[Doc]) -> None:
    anchor = anchor_at(docs[-1])
    result = walk(STREAM, records(docs[:-3]), [anchor_at(docs[5]), anchor])
    assert result.problem is not None
    assert (result.problem.kind, result.problem.record_id) == ("truncated", docs[-1]["event"]["id"])
    assert result.problem.seq == 18


class ListTrail:
    """The Trail protocol over documents in memory."""

    def __init__(self, docs: list[Doc], unchained: list[str] | None = None) -> None:
        self.docs = docs
        self.loose = unchained or []

    def refresh(self) -> None:
        pass

    def streams(self) -> dict[str, int]:
        return {STREAM: len(self.docs)} if self.docs else {}

    def records(self, stream: str) -> Iterator[tuple[str, Doc]]:
        for record in records(self.docs):
            yield record.doc_id, next(d for d in self.docs if d["event"]["id"] == record.doc_id)

    def unchained(self, limit: int = 10) -> tuple[int, list[str]]:
        return len(self.loose), self.loose[:limit]


def test_verify_reports_documents_outside_any_chain_and_whole_streams_gone(docs: list[Doc]) -> None:
    progress: list[tuple[str, int, int]] = []
    clean = verify_trail(
        ListTrail(docs), [anchor_at(docs[-1])], progress=lambda *a: progress.append(a)
    )
    assert clean.ok and progress[-1] == (STREAM, 20, 20)
    assert list(describe(clean))[-1] == "trail verifies clean"
    loose = verify_trail(ListTrail(docs, ["planted"]), [])
    assert not loose.ok and loose.as_dict()["unchained"] == {"count": 1, "first_ids": ["planted"]}
    emptied = verify_trail(ListTrail([]), [anchor_at(docs[-1])])
    (stream,) = emptied.as_dict()["streams"]
    assert stream["problem"]["kind"] == "truncated" and stream["problem"]["seq"] == 1
