"""Generated from schemas/*.avsc by `python -m cc.events.codegen`; do not edit."""

from typing import Any

from cc.events.generated.alert_group import AlertGroup
from cc.events.generated.alert_received import AlertReceived
from cc.events.generated.anomaly_detected import AnomalyDetected
from cc.events.generated.audit_anchor import AuditAnchor
from cc.events.generated.compliance_violation_found import ComplianceViolationFound
from cc.events.generated.deployment_observed import DeploymentObserved
from cc.events.generated.event_metadata import EventMetadata
from cc.events.generated.incident_opened import IncidentOpened
from cc.events.generated.incident_resolved import IncidentResolved
from cc.events.generated.incident_updated import IncidentUpdated
from cc.events.generated.metric_sample import MetricSample
from cc.events.generated.metric_samples_received import MetricSamplesReceived
from cc.events.generated.metric_series import MetricSeries
from cc.events.generated.notification_sent import NotificationSent
from cc.events.generated.remediation_decided import RemediationDecided
from cc.events.generated.remediation_executed import RemediationExecuted
from cc.events.generated.remediation_planned import RemediationPlanned
from cc.events.generated.remediation_verified import RemediationVerified
from cc.events.generated.signature import Signature
from cc.events.generated.suspect_deployment import SuspectDeployment

EVENT_TYPES: dict[str, Any] = {
    AlertReceived.SCHEMA: AlertReceived,
    AnomalyDetected.SCHEMA: AnomalyDetected,
    AuditAnchor.SCHEMA: AuditAnchor,
    ComplianceViolationFound.SCHEMA: ComplianceViolationFound,
    DeploymentObserved.SCHEMA: DeploymentObserved,
    IncidentOpened.SCHEMA: IncidentOpened,
    IncidentResolved.SCHEMA: IncidentResolved,
    IncidentUpdated.SCHEMA: IncidentUpdated,
    MetricSamplesReceived.SCHEMA: MetricSamplesReceived,
    NotificationSent.SCHEMA: NotificationSent,
    RemediationDecided.SCHEMA: RemediationDecided,
    RemediationExecuted.SCHEMA: RemediationExecuted,
    RemediationPlanned.SCHEMA: RemediationPlanned,
    RemediationVerified.SCHEMA: RemediationVerified,
}
"""Every event class (records that embed EventMetadata), by Avro full name."""

__all__ = [
    "EVENT_TYPES",
    "AlertGroup",
    "AlertReceived",
    "AnomalyDetected",
    "AuditAnchor",
    "ComplianceViolationFound",
    "DeploymentObserved",
    "EventMetadata",
    "IncidentOpened",
    "IncidentResolved",
    "IncidentUpdated",
    "MetricSample",
    "MetricSamplesReceived",
    "MetricSeries",
    "NotificationSent",
    "RemediationDecided",
    "RemediationExecuted",
    "RemediationPlanned",
    "RemediationVerified",
    "Signature",
    "SuspectDeployment",
]
