"""Argo CD notification -> DeploymentObserved, with a deterministic event id.

Revision: what the operation applied (`operationState.syncResult.revision`, else what it was asked
to sync, `operation.sync.revision`), else what Git is compared to (`status.sync.revision`). This is
the value Argo CD's catalog triggers use for `oncePer`. Multi-source apps have no single revision:
their `revisions` are joined with ",", in source order.

History (`status.history`, sorted by id): the *current* entry is the newest one when it holds this
revision and the operation is not still running or failed (Argo CD appends an entry only when a
sync succeeds). The *previous* entry is the newest older entry with a different revision.

Limits of "previous": Argo CD history does not record health, so the previous revision is the
last revision *deployed* before this one, not one known to have been healthy; re-syncs of the
same revision are skipped; rollbacks appear as new entries; and only `revisionHistoryLimit`
entries (default 10) are kept, so an old enough predecessor is simply absent (None).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from cc.events import DeploymentObserved, deterministic_id, new_metadata
from ingestor.contracts_argocd import Application, ArgoCDNotification, HistoryEntry, Initiator

SERVICE = "ingestor"
AUTOMATED = "automated"

#: Argo CD's notification catalog (notifications_catalog/triggers); others are kept as sent.
CATALOG_TRIGGERS = frozenset(
    {
        "on-created",
        "on-deleted",
        "on-deployed",
        "on-health-degraded",
        "on-sync-failed",
        "on-sync-running",
        "on-sync-status-unknown",
        "on-sync-succeeded",
    }
)
# an operation in these phases has not (yet) added a history entry
UNFINISHED_OR_FAILED = frozenset({"Running", "Terminating", "Failed", "Error"})


def is_catalog_trigger(trigger: str) -> bool:
    """Whether the trigger is one of Argo CD's eight catalog triggers."""
    return trigger in CATALOG_TRIGGERS


def revision_of(app: Application) -> str:
    """The revision this notification is about (see the module docstring)."""
    op = app.status.operation_state
    candidates = []
    if op is not None:
        if op.sync_result is not None:
            candidates.append(_joined(op.sync_result.revision, op.sync_result.revisions))
        if op.operation is not None and op.operation.sync is not None:
            candidates.append(_joined(op.operation.sync.revision, op.operation.sync.revisions))
    candidates.append(_joined(app.status.sync.revision, app.status.sync.revisions))
    return next((c for c in candidates if c), "")


def current_and_previous(
    app: Application, revision: str
) -> tuple[HistoryEntry | None, HistoryEntry | None]:
    """This deployment's history entry (if recorded yet) and the one deployed before it."""
    entries = sorted(app.status.history, key=lambda e: e.id)
    op = app.status.operation_state
    phase = None if op is None else op.phase
    current = None
    if entries and _entry_revision(entries[-1]) == revision and phase not in UNFINISHED_OR_FAILED:
        current = entries[-1]
    earlier = entries[:-1] if current is not None else entries
    previous = next((e for e in reversed(earlier) if _entry_revision(e) != revision), None)
    return current, previous


def initiator_of(app: Application, current: HistoryEntry | None) -> str | None:
    """Who started the operation: a username, or "automated" for auto-sync."""
    op = app.status.operation_state
    if op is not None and op.operation is not None and op.operation.initiated_by is not None:
        return _initiator(op.operation.initiated_by)
    if current is not None and current.initiated_by is not None:
        return _initiator(current.initiated_by)
    return None


def transition_time(n: ArgoCDNotification) -> datetime | None:
    """The time Argo CD recorded for the trigger's own transition, when it records one."""
    app = n.app
    op = app.status.operation_state
    moment = {
        "on-created": app.metadata.creation_timestamp,
        "on-deleted": app.metadata.deletion_timestamp,
        "on-health-degraded": app.status.health.last_transition_time,
        "on-sync-running": None if op is None else op.started_at,
    }.get(n.trigger)
    return None if moment is None else _utc(moment)


def occurred_at(n: ArgoCDNotification, *, received_at: datetime) -> datetime:
    """When the notified fact happened: the Application's own times first, receipt time last."""
    status = n.app.status
    op = status.operation_state
    # sync status has no transition time: the reconciliation that saw "Unknown" is the closest
    seen_unknown = status.reconciled_at if n.trigger == "on-sync-status-unknown" else None
    candidates = (
        transition_time(n),
        seen_unknown,
        None if op is None else op.finished_at,
        None if op is None else op.started_at,
        status.reconciled_at,
        n.sent_at,  # fixed once rendered: Argo CD's HTTP retries re-send the same body
    )
    found = next((c for c in candidates if c is not None), received_at)
    return _utc(found)


def deployment_from_notification(
    n: ArgoCDNotification, *, received_at: datetime
) -> DeploymentObserved:
    """One `DeploymentObserved` per notification; unknown triggers are kept as sent."""
    app = n.app
    op = app.status.operation_state
    revision = revision_of(app)
    current, previous = current_and_previous(app, revision)
    started = None if op is None or op.started_at is None else _utc(op.started_at)
    finished = None if op is None or op.finished_at is None else _utc(op.finished_at)
    phase = None if op is None else op.phase
    transition = transition_time(n)
    # not sentAt nor reconciledAt: both change when Argo CD re-sends the same fact
    event_id = deterministic_id(
        "deployment-observed",
        app.metadata.namespace,
        app.metadata.name,
        n.trigger,
        revision,
        "" if current is None else str(current.id),
        phase or "",
        "" if started is None else started.isoformat(),
        "" if finished is None else finished.isoformat(),
        "" if transition is None else transition.isoformat(),
    )
    destination = app.spec.destination
    commit = n.commit
    return DeploymentObserved(
        metadata=new_metadata(
            SERVICE, occurred_at=occurred_at(n, received_at=received_at), event_id=event_id
        ),
        trigger=n.trigger,
        application=app.metadata.name,
        project=app.spec.project or "default",
        namespace=destination.namespace,
        cluster=destination.server or destination.name,
        revision=revision,
        previous_revision=None if previous is None else _entry_revision(previous),
        history_id=None if current is None else current.id,
        previous_history_id=None if previous is None else previous.id,
        operation_phase=phase,
        health_status=app.status.health.status,
        sync_status=app.status.sync.status,
        started_at=started,
        finished_at=finished,
        initiator=initiator_of(app, current),
        commit_author=None if commit is None else commit.author,
        commit_message=None if commit is None else commit.message,
        commit_time=None if commit is None or commit.date is None else _utc(commit.date),
        raw=orjson.dumps(n.raw).decode(),
    )


def _joined(revision: str, revisions: list[str]) -> str:
    return revision or ",".join(r for r in revisions if r)


def _entry_revision(entry: HistoryEntry) -> str:
    return _joined(entry.revision, entry.revisions)


def _initiator(by: Initiator) -> str | None:
    if by.automated:
        return AUTOMATED
    return by.username or None


def _utc(moment: datetime) -> datetime:
    # Kubernetes times are UTC; a zone-less time from a hand-written template is taken as UTC too
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
