"""Every event of every topic becomes one audit document, hash-chained per topic partition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opentelemetry import trace

from cc.events import AuditAnchor, deterministic_id, new_metadata, utcnow
from cc.kafka import Outgoing, Received, RetryableError
from cc.platform.tracing import extract, trace_id_hex
from compliance_auditor.domain.chain import Link, chained, link_of, placeholder, stream_of
from compliance_auditor.domain.documents import Origin, audit_document, index_for
from compliance_auditor.ports import AuditStore, AuditWrite

SERVICE = "compliance-auditor"


@dataclass
class Pending:
    """One message of the batch on its way into the store."""

    item: Received
    write: AuditWrite
    stream: str


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
    ) -> None:
        self.store = store
        self.index_prefix = index_prefix
        self.anchor_topic = anchor_topic
        self.anchor_every = anchor_every
        self.heads: dict[str, Link] = {}
        self._handled_upto: dict[str, int] = {}
        self._anchored: dict[str, int] = {}
        self._last_anchor_at: datetime | None = None

    def on_events(self, items: list[Received]) -> list[Outgoing]:
        """Store the batch, chained (create semantics: redelivered events are not duplicated)."""
        ingested = utcnow()
        pending = [self._pending(item, ingested) for item in items]
        stored = self.store.lookup([(p.write.index, p.write.doc_id) for p in pending])
        heads: dict[str, Link | None] = {}
        writes: list[Pending] = []
        chained_ids: set[str] = set()
        for p in pending:
            item = p.item
            if p.stream not in heads:
                heads[p.stream] = self._head_before(p.stream, item.offset)
            found = stored.get(p.write.doc_id)
            if found is not None:
                kafka = found.get("kafka", {})
                here = (kafka.get("topic"), kafka.get("partition"), kafka.get("offset"))
                link = link_of(found)
                if here == (item.topic, item.partition, item.offset) and link is not None:
                    heads[p.stream] = link  # stored by an earlier attempt: it stays the head
                continue  # stored already, here or (a duplicate event) elsewhere
            if p.write.doc_id in chained_ids:
                continue  # the same event twice in one batch (the loop drops these already)
            heads[p.stream] = chained(p.write.document, p.stream, heads[p.stream], item.offset)
            chained_ids.add(p.write.doc_id)
            writes.append(p)
        self._store(writes)
        for stream, head in heads.items():
            if head is not None:
                self.heads[stream] = head
        for p in pending:
            self._handled_upto[p.stream] = p.item.offset
        return []

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

    def _pending(self, item: Received, ingested: datetime) -> Pending:
        event = item.event
        record = event.SCHEMA.rsplit(".", 1)[-1]
        # the trace the message carries (deterministic), not this process's span
        trace_id = trace_id_hex(trace.get_current_span(extract(item.headers)))
        origin = Origin(item.topic, item.partition, item.offset, item.key, trace_id)
        index = index_for(self.index_prefix, event.metadata.occurred_at)
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

    def _store(self, writes: list[Pending]) -> None:
        """Create the documents; a refused one is replaced by a placeholder holding its place."""
        if not writes:
            return
        result = self.store.write([p.write for p in writes])
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
