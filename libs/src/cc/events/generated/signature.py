"""Generated from schemas/Signature.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """What an anomaly or incident concerns."""

    SCHEMA: ClassVar[str] = "commandcenter.Signature"

    service: str = ""
    """Service (labels.service / app / job)."""
    namespace: str = ""
    """Kubernetes namespace."""
    alertname: str = ""
    """Alert name, if alert-derived."""
    cluster: str = ""
    """Cluster."""
    environment: str = ""
    """Environment (labels.env / environment)."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "service": self.service,
            "namespace": self.namespace,
            "alertname": self.alertname,
            "cluster": self.cluster,
            "environment": self.environment,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> Signature:
        """Build from a record as fastavro reads it."""
        return cls(
            service=data["service"],
            namespace=data["namespace"],
            alertname=data["alertname"],
            cluster=data["cluster"],
            environment=data["environment"],
        )
