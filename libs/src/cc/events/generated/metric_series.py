"""Generated from schemas/MetricSeries.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.metric_sample import MetricSample


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSeries:
    """One series and its samples."""

    SCHEMA: ClassVar[str] = "commandcenter.MetricSeries"

    name: str
    """Metric name (__name__)."""
    labels: dict[str, str]
    """Labels other than __name__."""
    samples: list[MetricSample]
    """Samples in time order."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "name": self.name,
            "labels": dict(self.labels),
            "samples": [item.to_avro() for item in self.samples],
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> MetricSeries:
        """Build from a record as fastavro reads it."""
        return cls(
            name=data["name"],
            labels=data["labels"],
            samples=[MetricSample.from_avro(item) for item in data["samples"]],
        )
