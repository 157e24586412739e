"""Generated from schemas/AnomalyDetected.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata
from cc.events.generated.signature import Signature
from cc.events.generated.suspect_deployment import SuspectDeployment


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyDetected:
    """Something that matters was found. Key: signature."""

    SCHEMA: ClassVar[str] = "commandcenter.AnomalyDetected"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    anomaly_id: str
    """Stable id of this anomaly (a storm keeps one id from start to end)."""
    kind: str
    """alert_firing | alert_storm | flapping | transient | rare_signature | deploy_regression | metric_anomaly"""
    phase: str = "started"
    """started | updated | ended"""
    score: float
    """Severity/confidence in [0,1]."""
    signature: Signature
    """What it concerns."""
    window_start: datetime
    """Start of the observed window."""
    window_end: datetime
    """End of the observed window."""
    summary: str
    """One sentence a person can read."""
    evidence: dict[str, str]
    """Observed vs expected, baseline, counts: readable key/values."""
    member_fingerprints: list[str]
    """Alert fingerprints involved."""
    suspect: SuspectDeployment | None = None
    """The suspect deployment, when one fits."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "anomaly_id": self.anomaly_id,
            "kind": self.kind,
            "phase": self.phase,
            "score": self.score,
            "signature": self.signature.to_avro(),
            "window_start": self.window_start,
            "window_end": self.window_end,
            "summary": self.summary,
            "evidence": dict(self.evidence),
            "member_fingerprints": list(self.member_fingerprints),
            "suspect": None if self.suspect is None else self.suspect.to_avro(),
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> AnomalyDetected:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            anomaly_id=data["anomaly_id"],
            kind=data["kind"],
            phase=data["phase"],
            score=data["score"],
            signature=Signature.from_avro(data["signature"]),
            window_start=data["window_start"],
            window_end=data["window_end"],
            summary=data["summary"],
            evidence=data["evidence"],
            member_fingerprints=data["member_fingerprints"],
            suspect=None
            if data["suspect"] is None
            else SuspectDeployment.from_avro(data["suspect"]),
        )
