"""Generated from schemas/DeploymentObserved.avsc by `python -m cc.events.codegen`; do not edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cc.events.generated.event_metadata import EventMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentObserved:
    """An Argo CD application event (sync, health, lifecycle). Key: application."""

    SCHEMA: ClassVar[str] = "commandcenter.DeploymentObserved"

    metadata: EventMetadata
    """Shared envelope: identity, time, producer, correlation."""
    trigger: str
    """Argo CD notification trigger, e.g. 'on-deployed'; unknown triggers are kept as sent."""
    application: str
    """Argo CD Application name."""
    project: str = "default"
    """Argo CD project."""
    namespace: str = ""
    """Destination namespace."""
    cluster: str = ""
    """Destination cluster server or name."""
    revision: str = ""
    """Revision synced (git SHA)."""
    previous_revision: str | None = None
    """Last healthy revision before this one, from status.history."""
    history_id: int | None = None
    """status.history id of this deployment."""
    previous_history_id: int | None = None
    """status.history id of the previous deployment."""
    operation_phase: str | None = None
    """status.operationState.phase."""
    health_status: str | None = None
    """status.health.status."""
    sync_status: str | None = None
    """status.sync.status."""
    started_at: datetime | None = None
    """Operation start."""
    finished_at: datetime | None = None
    """Operation end."""
    initiator: str | None = None
    """Who started the operation (username or 'automated')."""
    commit_author: str | None = None
    """Commit author, when the template sends it."""
    commit_message: str | None = None
    """Commit message, when the template sends it."""
    commit_time: datetime | None = None
    """Commit time, when known (lead time for changes)."""
    raw: str = "{}"
    """The whole received body as JSON, kept for fields not modelled."""

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it."""
        return {
            "metadata": self.metadata.to_avro(),
            "trigger": self.trigger,
            "application": self.application,
            "project": self.project,
            "namespace": self.namespace,
            "cluster": self.cluster,
            "revision": self.revision,
            "previous_revision": self.previous_revision,
            "history_id": self.history_id,
            "previous_history_id": self.previous_history_id,
            "operation_phase": self.operation_phase,
            "health_status": self.health_status,
            "sync_status": self.sync_status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "initiator": self.initiator,
            "commit_author": self.commit_author,
            "commit_message": self.commit_message,
            "commit_time": self.commit_time,
            "raw": self.raw,
        }

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> DeploymentObserved:
        """Build from a record as fastavro reads it."""
        return cls(
            metadata=EventMetadata.from_avro(data["metadata"]),
            trigger=data["trigger"],
            application=data["application"],
            project=data["project"],
            namespace=data["namespace"],
            cluster=data["cluster"],
            revision=data["revision"],
            previous_revision=data["previous_revision"],
            history_id=data["history_id"],
            previous_history_id=data["previous_history_id"],
            operation_phase=data["operation_phase"],
            health_status=data["health_status"],
            sync_status=data["sync_status"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            initiator=data["initiator"],
            commit_author=data["commit_author"],
            commit_message=data["commit_message"],
            commit_time=data["commit_time"],
            raw=data["raw"],
        )
