"""Generated from schemas/AuditAnchor.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditAnchor:
    """The head of one audit hash chain, published so a verifier can detect a truncated tail. Key: stream."""

    SCHEMA: ClassVar[str] = "commandcenter.AuditAnchor"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    trail: str
    """Audit alias (index prefix) the chain lives in, e.g. 'cc-audit'."""
    stream: str
    """Chain id: '<source topic>/<partition>'."""
    seq: int
    """Position of the head record in its stream (1 = first)."""
    hash: str
    """SHA-256 (hex) of the head record's canonical form (its commandcenter.chain.hash)."""
    head_event_id: str
    """event_id (= audit document id) of the head record."""
    head_offset: int
    """Source offset of the head record."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "trail": self.trail,
            "stream": self.stream,
            "seq": self.seq,
            "hash": self.hash,
            "head_event_id": self.head_event_id,
            "head_offset": self.head_offset,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> AuditAnchor:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            trail=data["trail"],
            stream=data["stream"],
            seq=data["seq"],
            hash=data["hash"],
            head_event_id=data["head_event_id"],
            head_offset=data["head_offset"],
        )
