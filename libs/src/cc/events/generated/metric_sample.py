"""Generated from schemas/MetricSample.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSample:
    """One sample."""

    SCHEMA: ClassVar[str] = "commandcenter.MetricSample"

    timestamp: datetime
    """Sample time."""
    value: float
    """Sample value."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "timestamp": self.timestamp,
            "value": self.value,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> MetricSample:
        """Build from a record as fastavro reads it."""
        return cls(
            timestamp=data["timestamp"],
            value=data["value"],
        )
