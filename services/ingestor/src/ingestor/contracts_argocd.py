"""The Argo CD notification body (deploy/argocd/README.md): tolerant of template drift.

Only what is needed to act is required: the trigger and the Application's `metadata.name`.
Every other field is optional, unknown fields are kept, and `null` counts as absent. Field names
follow Argo CD's Application schema (`v1alpha1Application`, camelCase on the wire).
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    model_validator,
)

from ingestor.timestamps import UtcDatetime

INT64_MAX = 2**63 - 1


class Tolerant(BaseModel):
    """Extra fields allowed; a `null` value is treated as if the field were absent."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        # Go templates and older Argo CD versions send `null` where newer ones omit the field
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


class ObjectMeta(Tolerant):
    """`app.metadata`."""

    name: str = Field(min_length=1)
    namespace: str = ""
    uid: str = ""
    creation_timestamp: UtcDatetime | None = Field(default=None, alias="creationTimestamp")
    deletion_timestamp: UtcDatetime | None = Field(default=None, alias="deletionTimestamp")


class Destination(Tolerant):
    """`app.spec.destination`: a cluster by server URL or by name."""

    server: str = ""
    name: str = ""
    namespace: str = ""


class AppSpec(Tolerant):
    """`app.spec`."""

    project: str = "default"
    destination: Destination = Field(default_factory=Destination)


class SyncStatus(Tolerant):
    """`app.status.sync`."""

    status: str | None = None
    revision: str = ""
    revisions: list[str] = Field(default_factory=list)


class HealthStatus(Tolerant):
    """`app.status.health`."""

    status: str | None = None
    message: str = ""
    last_transition_time: UtcDatetime | None = Field(default=None, alias="lastTransitionTime")


class Initiator(Tolerant):
    """`initiatedBy` of an operation or a history entry."""

    username: str = ""
    automated: bool = False


class SyncOperation(Tolerant):
    """`app.status.operationState.operation.sync`: what was asked for."""

    revision: str = ""
    revisions: list[str] = Field(default_factory=list)


class Operation(Tolerant):
    """`app.status.operationState.operation`."""

    initiated_by: Initiator | None = Field(default=None, alias="initiatedBy")
    sync: SyncOperation | None = None


class SyncResult(Tolerant):
    """`app.status.operationState.syncResult`: what was applied."""

    revision: str = ""
    revisions: list[str] = Field(default_factory=list)


class OperationState(Tolerant):
    """`app.status.operationState`: the last (or running) operation."""

    phase: str | None = None
    message: str = ""
    started_at: UtcDatetime | None = Field(default=None, alias="startedAt")
    finished_at: UtcDatetime | None = Field(default=None, alias="finishedAt")
    operation: Operation | None = None
    sync_result: SyncResult | None = Field(default=None, alias="syncResult")


class HistoryEntry(Tolerant):
    """One `app.status.history[]` entry: a completed sync (Argo CD records no health here)."""

    id: int = Field(ge=0, le=INT64_MAX)  # an Avro long downstream
    revision: str = ""
    revisions: list[str] = Field(default_factory=list)
    deployed_at: UtcDatetime | None = Field(default=None, alias="deployedAt")
    deploy_started_at: UtcDatetime | None = Field(default=None, alias="deployStartedAt")
    initiated_by: Initiator | None = Field(default=None, alias="initiatedBy")


class AppStatus(Tolerant):
    """`app.status`."""

    sync: SyncStatus = Field(default_factory=SyncStatus)
    health: HealthStatus = Field(default_factory=HealthStatus)
    operation_state: OperationState | None = Field(default=None, alias="operationState")
    history: list[HistoryEntry] = Field(default_factory=list)
    reconciled_at: UtcDatetime | None = Field(default=None, alias="reconciledAt")


class Application(Tolerant):
    """The Application object as `{{ toJson .app }}` renders it."""

    metadata: ObjectMeta
    spec: AppSpec = Field(default_factory=AppSpec)
    status: AppStatus = Field(default_factory=AppStatus)


class CommitMetadata(Tolerant):
    """Optional `commit`: the output of `repo.GetCommitMetadata` (Go field names) or lower case."""

    author: str | None = Field(default=None, validation_alias=AliasChoices("Author", "author"))
    message: str | None = Field(default=None, validation_alias=AliasChoices("Message", "message"))
    date: UtcDatetime | None = Field(default=None, validation_alias=AliasChoices("Date", "date"))


class ArgoCDNotification(Tolerant):
    """The whole body; `raw` keeps it exactly as received."""

    trigger: str = Field(min_length=1)
    app: Application
    context: dict[str, Any] = Field(default_factory=dict)
    sent_at: UtcDatetime | None = Field(default=None, alias="sentAt")
    commit: CommitMetadata | None = None

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(
        cls, data: Any, handler: ModelWrapValidatorHandler[ArgoCDNotification]
    ) -> ArgoCDNotification:
        model = handler(data)
        if isinstance(data, dict):
            model._raw = data
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The body as received, before any field was interpreted."""
        return self._raw
