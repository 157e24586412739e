"""Domain objects -> contract events (ids deterministic, so a replay gives the same events)."""

from __future__ import annotations

from datetime import datetime

from cc.events import (
    EventMetadata,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    RemediationPlanned,
    RemediationVerified,
    Signature,
    SuspectDeployment,
    deterministic_id,
    new_metadata,
)
from remediation_planner.config import SERVICE
from remediation_planner.domain.incidents import Incident, Suspect
from remediation_planner.domain.planning import Draft
from remediation_planner.domain.verification import Watch

SIGNATURE_FIELDS = ("service", "namespace", "alertname", "cluster", "environment")


def metadata(
    kind: str, *ids: str, at: datetime, incident_id: str, cause: EventMetadata | None
) -> EventMetadata:
    """Metadata with a deterministic event id, carrying the cause's correlation forward."""
    return new_metadata(
        SERVICE,
        occurred_at=at,
        event_id=deterministic_id(kind, *ids),
        caused_by=cause,
        incident_id=incident_id,
    )


def suspect_record(suspect: Suspect | None) -> SuspectDeployment | None:
    """The Avro record of a suspect change."""
    if suspect is None:
        return None
    return SuspectDeployment(
        application=suspect.application,
        revision=suspect.revision,
        deployment_event_id=suspect.deployment_event_id,
        seconds_before=suspect.seconds_before,
        score=suspect.score,
    )


def incident_opened(incident: Incident, cause: EventMetadata | None) -> IncidentOpened:
    """IncidentOpened for a new incident."""
    sig = incident.signature
    return IncidentOpened(
        metadata=metadata(
            "incident-opened",
            incident.incident_id,
            at=incident.opened_at,
            incident_id=incident.incident_id,
            cause=cause,
        ),
        incident_id=incident.incident_id,
        title=incident.title,
        severity=incident.severity,
        signature=Signature(**{f: sig.get(f, "") for f in SIGNATURE_FIELDS}),
        anomaly_ids=list(incident.anomalies),
        member_fingerprints=list(incident.members),
        suspect=suspect_record(incident.suspect),
    )


def incident_updated(
    incident: Incident, reasons: frozenset[str], at: datetime, cause: EventMetadata | None
) -> IncidentUpdated:
    """IncidentUpdated naming what changed (members, severity, suspect)."""
    words = []
    if "members" in reasons:
        words.append(f"{len(incident.members)} alerts ({incident.firing} firing)")
    if "severity" in reasons:
        words.append(f"severity now {incident.severity}")
    if "suspect" in reasons and incident.suspect is not None:
        words.append(f"suspect {incident.suspect.application} at {incident.suspect.revision}")
    return IncidentUpdated(
        metadata=metadata(
            "incident-updated",
            incident.incident_id,
            str(incident.updates),
            at=at,
            incident_id=incident.incident_id,
            cause=cause,
        ),
        incident_id=incident.incident_id,
        severity=incident.severity,
        anomaly_ids=list(incident.anomalies),
        member_fingerprints=list(incident.members),
        suspect=suspect_record(incident.suspect),
        change="; ".join(words) or "changed",
    )


def incident_resolved(incident: Incident, quiet_s: float) -> IncidentResolved:
    """IncidentResolved once every member alert stayed resolved for the quiet period."""
    assert incident.resolved_at is not None
    return IncidentResolved(
        metadata=metadata(
            "incident-resolved",
            incident.incident_id,
            at=incident.resolved_at,
            incident_id=incident.incident_id,
            cause=None,
        ),
        incident_id=incident.incident_id,
        opened_at=incident.opened_at,
        resolution=(
            f"all {len(incident.members)} alerts resolved and stayed resolved for {quiet_s:.0f}s"
        ),
    )


def remediation_planned(
    incident: Incident, draft: Draft, plan_id: str, at: datetime, cause: EventMetadata | None
) -> RemediationPlanned:
    """RemediationPlanned from a drafted plan."""
    c = draft.candidate
    return RemediationPlanned(
        metadata=metadata(
            "remediation-planned", plan_id, at=at, incident_id=incident.incident_id, cause=cause
        ),
        plan_id=plan_id,
        incident_id=incident.incident_id,
        action=c.action,
        target=dict(c.target),
        parameters=dict(c.parameters),
        gate=draft.decision.gate,
        gate_rule=draft.decision.rule,
        proposer=SERVICE,
        rationale=draft.rationale,
        expires_at=draft.expires_at,
    )


def remediation_verified(
    watch: Watch, outcome: str, evidence: dict[str, str], at: datetime
) -> RemediationVerified:
    """RemediationVerified with the outcome and what was observed."""
    return RemediationVerified(
        metadata=metadata(
            "remediation-verified",
            watch.execution_id,
            at=at,
            incident_id=watch.incident_id,
            cause=None,
        ),
        execution_id=watch.execution_id,
        plan_id=watch.plan_id,
        incident_id=watch.incident_id,
        outcome=outcome,
        evidence=evidence,
    )
