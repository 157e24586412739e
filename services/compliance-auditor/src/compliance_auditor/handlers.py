"""Every event of every topic becomes one audit document, hash-chained per topic partition."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from cc.events import AuditAnchor, deterministic_id, new_metadata, utcnow
from cc.kafka import Outgoing, Received, RetryableError
from compliance_auditor.domain.chain import Link, chained_source, link_of, placeholder, stream_of
from compliance_auditor.domain.documents import Origin, audit_document, index_for
from compliance_auditor.ports import AuditStore, AuditWrite, WriteResult

SERVICE = "compliance-auditor"


@dataclass
class Batch:
    """The heads as a batch moves them, and the event ids it chained."""

    heads: dict[str, Link | None] = field(default_factory=dict)
    chained: set[str] = field(default_factory=set)


@dataclass
class Pending:
    """One message of the batch on its way into the store."""

    item: Received
    write: AuditWrite
    stream: str


def carried_trace_id(headers: list[tuple[str, bytes]]) -> str:
    """The trace id of the message's W3C `traceparent` ('' without a valid one): the trace the
    event belongs to, the same on every redelivery (not this process's own span)."""
    for key, value in headers:
        if key == "traceparent":
            parts = value.decode("latin-1").split("-")
            if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
                return parts[1].lower()
    return ""


@cache
def record_of(schema: str) -> str:
    """cc.events.AlertReceived -> AlertReceived."""
    return schema.rsplit(".", 1)[-1]


class Auditor:
    """Writes batches to the audit store, chaining each document after its stream's head.

    Heads live in memory and are recovered from the store: after a restart, a rebalance or a gap
    in offsets, the head is the stored document just before the batch. A document already stored
    at the same topic/partition/offset (a redelivery) is not written again and becomes the head;
    an event stored elsewhere (a duplicate) is skipped. The documents are deterministic, so a
    document missing after a partial bulk is rebuilt identical to the one its successor names.
    """

    def __init__(
        self,
        store: AuditStore,
        *,
        index_prefix: str,
        anchor_topic: str = "audit.chain-anchor.v1",
        anchor_every: timedelta = timedelta(seconds=30),
        chunk: int = 1000,
        ramp: int = 2,
    ) -> None:
        self.store = store
        self.chunk = chunk
        """Documents per bulk request; up to two are in flight while the next is built."""
        self.ramp = ramp
        """The first chunk of a batch is `chunk / ramp` documents, the next ones double."""
        self._io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="audit-io")
        self.index_prefix = index_prefix
        self.anchor_topic = anchor_topic
        self.anchor_every = anchor_every
        self.heads: dict[str, Link] = {}
        self._handled_upto: dict[str, int] = {}
        self._anchored: dict[str, int] = {}
        self._last_anchor_at: datetime | None = None

    def on_events(self, items: list[Received]) -> list[Outgoing]:
        """Store the batch, chained (create semantics: redelivered events are not duplicated).

        Pipelined: each chunk's multi-get runs while its documents are built, and each chunk's
        bulk request runs while the next chunk is built and chained. The first chunks are
        smaller, so that Elasticsearch has work soon after the batch arrives.
        """
        ingested = utcnow()
        keys = [(self._index(item), item.event.metadata.event_id) for item in items]
        spans = self._spans(len(items))
        lookups = [self._io.submit(self.store.lookup, keys[a:b]) for a, b in spans]
        stored: dict[str, dict[str, Any]] = {}
        batch = Batch()
        in_flight: list[tuple[list[Pending], Future[WriteResult]]] = []
        for (a, b), lookup in zip(spans, lookups, strict=True):
            chunk = [
                self._pending(item, index, ingested)
                for item, (index, _) in zip(items[a:b], keys[a:b], strict=True)
            ]
            try:
                stored.update(lookup.result())
            except RetryableError:
                wait([f for _, f in in_flight])  # nothing left running behind the retry
                wait(lookups)
                raise
            writes = [p for p in chunk if self._chain(p, stored, batch)]
            if writes:
                in_flight.append(
                    (writes, self._io.submit(self.store.write, [p.write for p in writes]))
                )
        self._settle(in_flight)
        for stream, head in batch.heads.items():
            if head is not None:
                self.heads[stream] = head
        upto = {(item.topic, item.partition): item.offset for item in items}
        for (topic, partition), offset in upto.items():
            self._handled_upto[stream_of(topic, partition)] = offset
        return []

    def _chain(self, p: Pending, stored: dict[str, dict[str, Any]], batch: Batch) -> bool:
        """Put the document after its stream's head; False when it is stored already."""
        item = p.item
        if p.stream not in batch.heads:
            batch.heads[p.stream] = self._head_before(p.stream, item.offset)
        found = stored.get(p.write.doc_id)
        if found is not None:
            kafka = found.get("kafka", {})
            here = (kafka.get("topic"), kafka.get("partition"), kafka.get("offset"))
            link = link_of(found)
            if here == (item.topic, item.partition, item.offset) and link is not None:
                batch.heads[p.stream] = link  # stored by an earlier attempt: still the head
            return False  # stored already, here or (a duplicate event) elsewhere
        if p.write.doc_id in batch.chained:
            return False  # the same event twice in one batch (the loop drops those already)
        write = p.write
        batch.heads[p.stream], source = chained_source(
            write.document, p.stream, batch.heads[p.stream], item.offset
        )
        p.write = AuditWrite(write.index, write.doc_id, write.document, source)
        batch.chained.add(p.write.doc_id)
        return True

    def tick(self, now: datetime) -> Sequence[Outgoing]:
        """Every `anchor_every`, publish the heads that moved since their last anchor."""
        if self._last_anchor_at is not None and now - self._last_anchor_at < self.anchor_every:
            return []
        self._last_anchor_at = now
        out = []
        for stream, head in sorted(self.heads.items()):
            if self._anchored.get(stream) == head.seq:
                continue
            self._anchored[stream] = head.seq
            anchor = AuditAnchor(
                metadata=new_metadata(
                    SERVICE,
                    occurred_at=now,
                    event_id=deterministic_id(
                        "audit-anchor", self.index_prefix, stream, str(head.seq)
                    ),
                ),
                trail=self.index_prefix,
                stream=stream,
                seq=head.seq,
                hash=head.hash,
                head_event_id=head.event_id,
                head_offset=head.offset,
            )
            out.append(Outgoing(self.anchor_topic, stream, anchor))
        return out

    def _spans(self, n: int) -> list[tuple[int, int]]:
        """Chunk bounds: from chunk / ramp documents, doubling up to `chunk`."""
        spans: list[tuple[int, int]] = []
        start, size = 0, max(1, self.chunk // self.ramp)
        while start < n:
            spans.append((start, min(n, start + size)))
            start, size = start + size, min(self.chunk, size * 2)
        return spans

    def _index(self, item: Received) -> str:
        return index_for(self.index_prefix, item.event.metadata.occurred_at)

    def _pending(self, item: Received, index: str, ingested: datetime) -> Pending:
        event = item.event
        record = record_of(event.SCHEMA)
        trace_id = carried_trace_id(item.headers)
        origin = Origin(item.topic, item.partition, item.offset, item.key, trace_id)
        item.span.set_attribute("cc.audit.index", index)
        document = audit_document(record, event.to_avro(), origin, ingested)
        write = AuditWrite(index=index, doc_id=event.metadata.event_id, document=document)
        return Pending(item, write, stream_of(item.topic, item.partition))

    def _head_before(self, stream: str, offset: int) -> Link | None:
        """The head in memory when the batch continues right after it, else from the store."""
        if self._handled_upto.get(stream) == offset - 1:
            return self.heads.get(stream)
        found = self.store.last_chained(stream, offset)
        return None if found is None else link_of(found)

    def _settle(self, in_flight: list[tuple[list[Pending], Future[WriteResult]]]) -> None:
        """Wait for every chunk; a refused document is replaced by a placeholder holding its
        place; anything retryable (after all chunks finished) fails the batch for a retry."""
        failure: RetryableError | None = None
        writes: list[Pending] = []
        result = WriteResult()
        for chunk, future in in_flight:
            try:
                done = future.result()
            except RetryableError as exc:
                failure = failure or exc
                continue
            result.conflicts += [len(writes) + i for i in done.conflicts]
            result.rejected.update({len(writes) + i: why for i, why in done.rejected.items()})
            writes += chunk
        if failure is not None:
            raise failure
        if result.conflicts:
            # written meanwhile (a timed-out request that landed, another instance): re-read
            raise RetryableError(f"{len(result.conflicts)} audit documents appeared meanwhile")
        if not result.rejected:
            return
        stand_ins = [
            AuditWrite(
                writes[i].write.index,
                writes[i].write.doc_id,
                placeholder(writes[i].write.document, why),
            )
            for i, why in result.rejected.items()
        ]
        again = self.store.write(stand_ins)
        if again.conflicts:
            raise RetryableError("audit placeholders appeared meanwhile")
        for position, (i, reason) in enumerate(result.rejected.items()):
            item = writes[i].item
            item.error = ValueError(f"audit document rejected: {reason}")
            if position in again.rejected:
                item.error = ValueError(f"audit document and placeholder rejected: {reason}")
