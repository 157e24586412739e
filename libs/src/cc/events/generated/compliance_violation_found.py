"""Generated from schemas/ComplianceViolationFound.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplianceViolationFound:
    """A compliance rule was broken. Key: rule_id."""

    SCHEMA: ClassVar[str] = "commandcenter.ComplianceViolationFound"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    violation_id: str
    """Deterministic id."""
    rule_id: str
    """Rule that fired."""
    severity: str
    """critical | high | medium | low"""
    description: str
    """What is wrong, in words."""
    service: str = ""
    """Service concerned."""
    environment: str = ""
    """Environment."""
    evidence_event_ids: list[str]
    """event_ids of the records involved."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "violation_id": self.violation_id,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "description": self.description,
            "service": self.service,
            "environment": self.environment,
            "evidence_event_ids": list(self.evidence_event_ids),
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> ComplianceViolationFound:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            violation_id=data["violation_id"],
            rule_id=data["rule_id"],
            severity=data["severity"],
            description=data["description"],
            service=data["service"],
            environment=data["environment"],
            evidence_event_ids=data["evidence_event_ids"],
        )
