"""Builders of synthetic histories (deploys, incidents, plans...) for tests, benchmarks and demos.

Every event id is deterministic in (`run`, what it is), so a history built twice is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import orjson

from cc.events import (
    AlertReceived,
    ComplianceViolationFound,
    DeploymentObserved,
    Event,
    EventMetadata,
    IncidentOpened,
    IncidentResolved,
    NotificationSent,
    RemediationDecided,
    RemediationExecuted,
    RemediationPlanned,
    RemediationVerified,
    Signature,
    SuspectDeployment,
    deterministic_id,
    new_metadata,
)

E = TypeVar("E", bound=Event)


@dataclass
class History:
    """A synthetic event history; builders append to `events` and return what they built."""

    run: str = "synthetic"
    events: list[Event] = field(default_factory=list)

    def _meta(
        self, producer: str, name: str, at: datetime, incident_id: str | None = None
    ) -> EventMetadata:
        return new_metadata(
            producer,
            occurred_at=at,
            event_id=deterministic_id("synthetic", self.run, name),
            incident_id=incident_id,
        )

    def _add(self, event: E) -> E:
        self.events.append(event)
        return event

    def deploy(
        self,
        app: str,
        revision: str,
        at: datetime,
        *,
        environment: str = "production",
        trigger: str = "on-deployed",
        commit_time: datetime | None = None,
        initiator: str = "alice",
        phase: str = "Succeeded",
        health: str = "Healthy",
    ) -> DeploymentObserved:
        """A DeploymentObserved whose Application is labelled with service and environment."""
        body = {"app": {"metadata": {"name": app, "labels": {"environment": environment}}}}
        return self._add(
            DeploymentObserved(
                metadata=self._meta("ingestor", f"deploy/{app}/{revision}/{trigger}/{at}", at),
                trigger=trigger,
                application=app,
                namespace=f"{app}-{environment}",
                cluster="https://prod-1" if environment == "production" else "https://dev-1",
                revision=revision,
                operation_phase=phase,
                health_status=health,
                sync_status="Synced" if phase == "Succeeded" else "OutOfSync",
                started_at=at - timedelta(minutes=1),
                finished_at=at,
                initiator=initiator,
                commit_author="dev@example.com",
                commit_message=f"change {revision}",
                commit_time=commit_time,
                raw=orjson.dumps(body).decode(),
            )
        )

    def incident(
        self,
        incident_id: str,
        at: datetime,
        *,
        service: str,
        environment: str = "production",
        severity: str = "critical",
        suspect: DeploymentObserved | None = None,
    ) -> IncidentOpened:
        """An IncidentOpened, naming a deploy as suspect when given."""
        named = None
        if suspect is not None:
            named = SuspectDeployment(
                application=suspect.application,
                revision=suspect.revision,
                deployment_event_id=suspect.metadata.event_id,
                seconds_before=60.0,
                score=0.9,
            )
        return self._add(
            IncidentOpened(
                metadata=self._meta("remediation-planner", f"io/{incident_id}", at, incident_id),
                incident_id=incident_id,
                title=f"{service} is failing",
                severity=severity,
                signature=Signature(service=service, environment=environment, cluster="prod-1"),
                anomaly_ids=[],
                member_fingerprints=[],
                suspect=named,
            )
        )

    def resolved(self, opened: IncidentOpened, at: datetime) -> IncidentResolved:
        """IncidentResolved for an opened incident."""
        iid = opened.incident_id
        return self._add(
            IncidentResolved(
                metadata=self._meta("remediation-planner", f"ir/{iid}", at, iid),
                incident_id=iid,
                opened_at=opened.metadata.occurred_at,
                resolution="alerts resolved",
            )
        )

    def planned(
        self,
        plan_id: str,
        incident_id: str,
        at: datetime,
        *,
        service: str,
        environment: str = "production",
        action: str = "argocd_rollback",
        gate: str = "auto",
        proposer: str = "remediation-planner",
        suspect_revision: str = "",
    ) -> RemediationPlanned:
        """A RemediationPlanned against `service` (its Argo CD application has the same name)."""
        target = {"cluster": "prod-1", "namespace": service, "service": service}
        target |= {"environment": environment, "application": service}
        parameters = {"suspect_revision": suspect_revision} if suspect_revision else {}
        return self._add(
            RemediationPlanned(
                metadata=self._meta("remediation-planner", f"rp/{plan_id}", at, incident_id),
                plan_id=plan_id,
                incident_id=incident_id,
                action=action,
                target=target,
                parameters=parameters,
                gate=gate,
                gate_rule=f"{environment}-{action}",
                proposer=proposer,
                rationale=f"{action} for {service}",
                expires_at=at + timedelta(hours=1) if gate == "needs_approval" else None,
            )
        )

    def decided(
        self, plan: RemediationPlanned, at: datetime, *, by: str, decision: str = "approved"
    ) -> RemediationDecided:
        """A person's (or the policy's) decision on a plan."""
        return self._add(
            RemediationDecided(
                metadata=self._meta("remediation-planner", f"rd/{plan.plan_id}/{by}", at),
                plan_id=plan.plan_id,
                incident_id=plan.incident_id,
                decision=decision,
                decided_by=by,
                role="approver",
            )
        )

    def executed(
        self, plan: RemediationPlanned, at: datetime, *, status: str = "succeeded"
    ) -> RemediationExecuted:
        """The execution of a plan."""
        return self._add(
            RemediationExecuted(
                metadata=self._meta(
                    "remediation-planner", f"re/{plan.plan_id}", at, plan.incident_id
                ),
                execution_id=deterministic_id("execution", plan.plan_id),
                plan_id=plan.plan_id,
                incident_id=plan.incident_id,
                action=plan.action,
                target=dict(plan.target),
                status=status,
                detail="{}",
            )
        )

    def verified(
        self, plan: RemediationPlanned, at: datetime, *, outcome: str = "resolved"
    ) -> RemediationVerified:
        """The verification of an executed plan."""
        return self._add(
            RemediationVerified(
                metadata=self._meta(
                    "remediation-planner", f"rv/{plan.plan_id}", at, plan.incident_id
                ),
                execution_id=deterministic_id("execution", plan.plan_id),
                plan_id=plan.plan_id,
                incident_id=plan.incident_id,
                outcome=outcome,
                evidence={},
            )
        )

    def alert(
        self, name: str, at: datetime, *, service: str, environment: str = "production"
    ) -> AlertReceived:
        """A firing alert."""
        labels = {"alertname": name, "service": service, "env": environment}
        return self._add(
            AlertReceived(
                metadata=self._meta("ingestor", f"alert/{name}/{at}", at),
                source="alertmanager",
                fingerprint=deterministic_id("fp", self.run, name),
                status="firing",
                alertname=name,
                labels=labels,
                annotations={},
                starts_at=at,
            )
        )

    def page(
        self, incident_id: str, at: datetime, *, channel: str = "pagerduty"
    ) -> NotificationSent:
        """A delivered notification about an incident."""
        return self._add(
            NotificationSent(
                metadata=self._meta("notifier", f"ns/{incident_id}/{channel}", at, incident_id),
                notification_id=deterministic_id("n", self.run, incident_id, channel),
                channel=channel,
                destination="oncall",
                dedup_key=incident_id,
                subject_event_id=deterministic_id("subject", self.run, incident_id),
                incident_id=incident_id,
                status="delivered",
                attempts=1,
            )
        )

    def violation(
        self,
        rule_id: str,
        at: datetime,
        *,
        service: str,
        evidence: list[str],
        environment: str = "production",
    ) -> ComplianceViolationFound:
        """A ComplianceViolationFound."""
        vid = deterministic_id("violation", self.run, rule_id, *evidence)
        return self._add(
            ComplianceViolationFound(
                metadata=self._meta("compliance-auditor", f"cv/{vid}", at),
                violation_id=vid,
                rule_id=rule_id,
                severity="high",
                description=f"{rule_id} on {service}",
                service=service,
                environment=environment,
                evidence_event_ids=evidence,
            )
        )
