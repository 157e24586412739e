"""Every event of every topic becomes one audit document."""

from __future__ import annotations

from cc.events import utcnow
from cc.kafka import Outgoing, Received
from cc.platform.tracing import trace_id_hex
from compliance_auditor.domain.documents import Origin, audit_document, index_for
from compliance_auditor.ports import AuditStore, AuditWrite

SERVICE = "compliance-auditor"


class Auditor:
    """Writes a batch of events to the audit store; poison documents are marked, not dropped."""

    def __init__(self, store: AuditStore, *, index_prefix: str) -> None:
        self.store = store
        self.index_prefix = index_prefix

    def on_events(self, items: list[Received]) -> list[Outgoing]:
        """Store the batch (create semantics: redelivered events are not duplicated)."""
        now = utcnow()
        writes = []
        for item in items:
            event = item.event
            record = event.SCHEMA.rsplit(".", 1)[-1]
            origin = Origin(
                item.topic, item.partition, item.offset, item.key, trace_id_hex(item.span)
            )
            index = index_for(self.index_prefix, event.metadata.occurred_at)
            item.span.set_attribute("cc.audit.index", index)
            writes.append(
                AuditWrite(
                    index=index,
                    doc_id=event.metadata.event_id,
                    document=audit_document(record, event.to_avro(), origin, now),
                )
            )
        for position, reason in self.store.write(writes).items():
            items[position].error = ValueError(f"audit document rejected: {reason}")
        return []
