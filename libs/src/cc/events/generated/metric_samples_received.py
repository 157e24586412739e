"""Generated from schemas/MetricSamplesReceived.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata
from cc.events.generated.metric_series import MetricSeries


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSamplesReceived:
    """A batch of allow-listed samples from Prometheus remote_write. Key: series family."""

    SCHEMA: ClassVar[str] = "commandcenter.MetricSamplesReceived"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    series: list[MetricSeries]
    """Series in this batch."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "series": [item.to_avro() for item in self.series],
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> MetricSamplesReceived:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            series=[MetricSeries.from_avro(item) for item in data["series"]],
        )
