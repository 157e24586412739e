"""Generated from schemas/SuspectDeployment.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class SuspectDeployment:
    """A deploy named as the probable cause."""

    SCHEMA: ClassVar[str] = "commandcenter.SuspectDeployment"

    application: str
    """Argo CD application."""
    revision: str
    """Suspect revision."""
    deployment_event_id: str
    """event_id of the DeploymentObserved."""
    seconds_before: float
    """How long before the anomaly began the deploy finished."""
    score: float
    """Confidence in [0,1]."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "application": self.application,
            "revision": self.revision,
            "deployment_event_id": self.deployment_event_id,
            "seconds_before": self.seconds_before,
            "score": self.score,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> SuspectDeployment:
        """Build from a record as fastavro reads it."""
        return cls(
            application=data["application"],
            revision=data["revision"],
            deployment_event_id=data["deployment_event_id"],
            seconds_before=data["seconds_before"],
            score=data["score"],
        )
