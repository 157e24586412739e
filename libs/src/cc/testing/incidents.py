"""Building the planner's inputs in tests: anomalies, alerts, deploys and executions of a place."""

from __future__ import annotations

from datetime import datetime, timedelta

from cc.events import (
    AlertReceived,
    AnomalyDetected,
    DeploymentObserved,
    RemediationExecuted,
    Signature,
    SuspectDeployment,
    deterministic_id,
    new_metadata,
)
from cc.testing.events import T0


def place_labels(
    service: str = "web", namespace: str = "shop", environment: str = "prod", **more: str
) -> dict[str, str]:
    """Alert labels of a service in a namespace and environment."""
    return {
        "service": service,
        "namespace": namespace,
        "env": environment,
        "cluster": "prod-1",
        "severity": "critical",
        **more,
    }


def firing(
    fingerprint: str,
    labels: dict[str, str],
    *,
    at: datetime = T0,
    alertname: str = "HighErrorRate",
    status: str = "firing",
) -> AlertReceived:
    """An AlertReceived (firing unless `status="resolved"`)."""
    return AlertReceived(
        metadata=new_metadata(
            "ingestor",
            occurred_at=at,
            event_id=deterministic_id("alert", fingerprint, status, at.isoformat()),
        ),
        source="alertmanager",
        fingerprint=fingerprint,
        status=status,  # type: ignore[arg-type]
        alertname=alertname,
        labels={"alertname": alertname, **labels},
        annotations={},
        starts_at=at,
        ends_at=at if status == "resolved" else None,
    )


def anomaly_of(
    fingerprints: list[str],
    labels: dict[str, str],
    *,
    at: datetime = T0,
    kind: str = "alert_firing",
    score: float = 0.9,
    alertname: str = "HighErrorRate",
    suspect: SuspectDeployment | None = None,
    phase: str = "started",
    anomaly_id: str | None = None,
) -> AnomalyDetected:
    """An AnomalyDetected about alerts with these labels."""
    anomaly_id = anomaly_id or deterministic_id("anomaly", *fingerprints, at.isoformat())
    return AnomalyDetected(
        metadata=new_metadata(
            "anomaly-detector",
            occurred_at=at,
            event_id=deterministic_id("anomaly-detected", anomaly_id, phase),
        ),
        anomaly_id=anomaly_id,
        kind=kind,
        phase=phase,
        score=score,
        signature=Signature(
            service=labels.get("service", ""),
            namespace=labels.get("namespace", ""),
            alertname=alertname,
            cluster=labels.get("cluster", ""),
            environment=labels.get("env", ""),
        ),
        window_start=at,
        window_end=at,
        summary=f"{alertname} for {labels.get('service', '?')}",
        evidence={},
        member_fingerprints=list(fingerprints),
        suspect=suspect,
    )


def deployed(
    application: str,
    revision: str,
    *,
    namespace: str = "shop",
    at: datetime = T0 - timedelta(minutes=2),
    trigger: str = "on-deployed",
) -> DeploymentObserved:
    """A DeploymentObserved of a successful deploy that finished at `at`."""
    return DeploymentObserved(
        metadata=new_metadata(
            "ingestor",
            occurred_at=at,
            event_id=deterministic_id("deploy", application, revision, at.isoformat()),
        ),
        trigger=trigger,
        application=application,
        namespace=namespace,
        cluster="https://kubernetes.default.svc",
        revision=revision,
        operation_phase="Succeeded",
        health_status="Healthy",
        sync_status="Synced",
        finished_at=at,
    )


def executed(
    plan_id: str,
    incident_id: str,
    action: str,
    *,
    at: datetime = T0,
    status: str = "succeeded",
) -> RemediationExecuted:
    """A RemediationExecuted as the executors would record it."""
    execution_id = deterministic_id("execution", plan_id)
    return RemediationExecuted(
        metadata=new_metadata(
            "remediation-planner",
            occurred_at=at,
            event_id=deterministic_id("remediation-executed", execution_id),
            incident_id=incident_id,
        ),
        execution_id=execution_id,
        plan_id=plan_id,
        incident_id=incident_id,
        action=action,
        target={},
        status=status,
        detail="{}",
    )
