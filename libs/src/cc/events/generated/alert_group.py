"""Generated from schemas/AlertGroup.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertGroup:
    """The Alertmanager notification (group) an alert arrived in."""

    SCHEMA: ClassVar[str] = "commandcenter.AlertGroup"

    receiver: str
    """Receiver name (regex-escaped by Alertmanager)."""
    status: str
    """'firing' if any alert of the group fires, else 'resolved'."""
    group_key: str
    """Aggregation group key: <route key>:<group labels>."""
    group_labels: dict[str, str]
    """Values of the route's group_by labels."""
    common_labels: dict[str, str]
    """Labels shared by every alert of the notification."""
    common_annotations: dict[str, str]
    """Annotations shared by every alert of the notification."""
    external_url: str
    """The sender's own URL."""
    truncated_alerts: int
    """Alerts left out by max_alerts; non-zero means the group is incomplete."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "receiver": self.receiver,
            "status": self.status,
            "group_key": self.group_key,
            "group_labels": dict(self.group_labels),
            "common_labels": dict(self.common_labels),
            "common_annotations": dict(self.common_annotations),
            "external_url": self.external_url,
            "truncated_alerts": self.truncated_alerts,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> AlertGroup:
        """Build from a record as fastavro reads it."""
        return cls(
            receiver=data["receiver"],
            status=data["status"],
            group_key=data["group_key"],
            group_labels=data["group_labels"],
            common_labels=data["common_labels"],
            common_annotations=data["common_annotations"],
            external_url=data["external_url"],
            truncated_alerts=data["truncated_alerts"],
        )
