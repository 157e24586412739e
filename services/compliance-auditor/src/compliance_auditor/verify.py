"""`audit verify`: walk every chain of a trail against the published anchors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from compliance_auditor.domain.verification import Anchor, Record, StreamResult, walk

Progress = Callable[[str, int, int], None]
"""Called as (stream, records checked so far, records in the stream)."""
PROGRESS_EVERY = 5000


class Trail(Protocol):
    """What verification reads from the audit store."""

    def refresh(self) -> None: ...

    def streams(self) -> dict[str, int]: ...

    def records(self, stream: str) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def unchained(self, limit: int = 10) -> tuple[int, list[str]]: ...


@dataclass
class Report:
    """What `audit verify` found."""

    streams: list[StreamResult] = field(default_factory=list)
    unchained: int = 0
    unchained_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every chain intact, nothing outside a chain."""
        return self.unchained == 0 and all(s.ok for s in self.streams)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the API and `--json`)."""
        return {
            "ok": self.ok,
            "records": sum(s.records for s in self.streams),
            "unchained": {"count": self.unchained, "first_ids": self.unchained_ids},
            "streams": [
                {
                    "stream": s.stream,
                    "ok": s.ok,
                    "records": s.records,
                    "head_seq": s.head_seq,
                    "anchored_seq": s.anchored_seq,
                    "problem": None if s.problem is None else asdict(s.problem),
                }
                for s in self.streams
            ],
        }


def verify_trail(
    trail: Trail,
    anchors: Iterable[Anchor],
    *,
    only: list[str] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Walk each stream (or only the named ones); a stream known only from anchors is truncated."""
    trail.refresh()
    by_stream: dict[str, list[Anchor]] = {}
    for anchor in anchors:
        by_stream.setdefault(anchor.stream, []).append(anchor)
    sizes = trail.streams()
    names = sorted(set(sizes) | set(by_stream))
    if only:
        names = [n for n in names if n in set(only)] + [n for n in only if n not in names]
    report = Report()
    for name in names:
        records = _counted(name, trail.records(name), sizes.get(name, 0), progress)
        report.streams.append(walk(name, records, by_stream.get(name, [])))
    if not only:
        report.unchained, report.unchained_ids = trail.unchained()
    return report


def _counted(
    stream: str, hits: Iterator[tuple[str, dict[str, Any]]], total: int, progress: Progress | None
) -> Iterator[Record]:
    done = 0
    for doc_id, source in hits:
        yield Record.from_hit(doc_id, source)
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(stream, done, total)
    if progress is not None:
        progress(stream, done, total)


def describe(report: Report) -> Iterator[str]:
    """Human-readable lines: one per stream, then the verdict."""
    for s in report.streams:
        if s.problem is None:
            yield f"ok        {s.stream}: {s.records} records, head seq {s.head_seq}"
        else:
            p = s.problem
            yield f"{p.kind.upper():<9} {s.stream}: seq {p.seq}, record {p.record_id}: {p.detail}"
    if report.unchained:
        ids = ", ".join(report.unchained_ids)
        yield f"INSERTED  {report.unchained} documents outside any chain (first: {ids})"
    yield "trail verifies clean" if report.ok else "trail has been TAMPERED WITH (see above)"
