"""Walking one chain: the first edited, deleted, inserted, reordered or truncated record.

Records arrive sorted by (seq, event id). The walker keeps the last two accepted records and a
look-ahead window, which is enough to tell the kinds apart:

- edited: the record no longer hashes to its own `chain.hash` (or differs from an anchor), or
  its successor records another hash for it;
- deleted: a seq is missing (the successor's `prev_id` names the last deleted record);
- inserted: two records claim one seq and the successor links to the other, or a record's link
  fits nothing while the next one skips it;
- reordered: a record links to one that comes later in the stream;
- truncated: an anchor published a head beyond the last stored record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from compliance_auditor.domain.chain import GENESIS, content_ok

LOOKAHEAD = 1000


@dataclass(frozen=True)
class Record:
    """What the walker needs of a stored document."""

    doc_id: str
    event_id: str
    seq: int
    prev_hash: str
    prev_id: str
    hash: str
    intact: bool
    """The document hashes to its own chain.hash and sits under its event id."""

    @classmethod
    def from_hit(cls, doc_id: str, source: dict[str, Any]) -> Record:
        """A record from an Elasticsearch hit's `_id` and `_source`."""
        chain = source.get("commandcenter", {}).get("chain") or {}
        return cls(
            doc_id=doc_id,
            event_id=str(source.get("event", {}).get("id", "")),
            seq=int(chain.get("seq", 0)),
            prev_hash=str(chain.get("prev_hash", "")),
            prev_id=str(chain.get("prev_id", "")),
            hash=str(chain.get("hash", "")),
            intact=content_ok(doc_id, source),
        )


@dataclass(frozen=True)
class Anchor:
    """A published head: at `seq` the stream's record was `event_id` with `hash`."""

    stream: str
    seq: int
    hash: str
    event_id: str


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a stream."""

    kind: str  # edited | deleted | inserted | reordered | truncated
    stream: str
    seq: int
    record_id: str
    detail: str


@dataclass
class StreamResult:
    """Outcome of walking one stream."""

    stream: str
    records: int = 0
    head_seq: int = 0
    anchored_seq: int = 0
    problem: Problem | None = None
    anchors: list[Anchor] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        """Nothing wrong found."""
        return self.problem is None


def walk(stream: str, records: Iterable[Record], anchors: Iterable[Anchor] = ()) -> StreamResult:
    """Check one stream's records (sorted by seq, event id) against each other and the anchors."""
    by_seq = {anchor.seq: anchor for anchor in anchors}
    result = StreamResult(stream, anchored_seq=max(by_seq, default=0))
    result.problem = _walk(stream, iter(records), by_seq, result)
    if result.problem is None and result.anchored_seq > result.head_seq:
        last = by_seq[result.anchored_seq]
        result.problem = Problem(
            "truncated",
            stream,
            result.head_seq + 1,
            last.event_id,
            f"an anchor published seq {last.seq} ({last.event_id}); the trail ends at "
            f"seq {result.head_seq}",
        )
    return result


def _walk(
    stream: str, source: Iterator[Record], anchors: dict[int, Anchor], result: StreamResult
) -> Problem | None:
    ahead: deque[Record] = deque()
    prev: Record | None = None
    before_prev: Record | None = None

    def fill() -> None:
        while len(ahead) < LOOKAHEAD:
            nxt = next(source, None)
            if nxt is None:
                return
            ahead.append(nxt)

    def problem(kind: str, record: Record | str, seq: int, detail: str) -> Problem:
        record_id = record if isinstance(record, str) else record.doc_id
        return Problem(kind, stream, seq, record_id, detail)

    fill()
    while ahead:
        x = ahead.popleft()
        fill()
        result.records += 1
        expected = 1 if prev is None else prev.seq + 1
        if x.seq < expected and prev is not None:
            successor = next((r for r in ahead if r.seq == x.seq + 1), None)
            if successor is not None and successor.prev_id == x.event_id:
                return problem("inserted", prev, prev.seq, "a second record at this seq")
            return problem("inserted", x, x.seq, f"a second record at seq {x.seq}")
        if x.seq > expected:
            missing = x.prev_id or "(unknown)"
            return problem(
                "deleted",
                missing,
                expected,
                f"seq {expected}..{x.seq - 1} missing before {x.doc_id}",
            )
        linked = (
            x.prev_hash == GENESIS and x.prev_id == ""
            if prev is None
            else x.prev_hash == prev.hash and x.prev_id == prev.event_id
        )
        if not linked:
            if any(r.event_id == x.prev_id for r in ahead):
                return problem("reordered", x, x.seq, f"follows {x.prev_id}, which comes later")
            if prev is not None and x.prev_id == prev.event_id:
                return problem("edited", prev, prev.seq, "its successor recorded another hash")
            if before_prev is not None and prev is not None and x.prev_id == before_prev.event_id:
                return problem("inserted", prev, prev.seq, "its successor skips it")
            if not x.intact:
                return problem("edited", x, x.seq, "chain fields changed")
            return problem("inserted", x, x.seq, "links to no record of this stream")
        if not x.intact:
            return problem("edited", x, x.seq, "does not hash to its chain.hash")
        anchor = anchors.get(x.seq)
        if anchor is not None and (anchor.hash != x.hash or anchor.event_id != x.event_id):
            return problem("edited", x, x.seq, "differs from the published anchor")
        before_prev, prev = prev, x
        result.head_seq = x.seq
    return None
