"""A deploy, then a storm of alerts for the same service, through the real pipeline (Argo CD
notification and Alertmanager -> ingestor -> anomaly-detector): exactly one `AnomalyDetected` of
kind deploy_regression, naming that deploy, and not the decoy deploy of another service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from anomaly_detector.handlers import ALERTS_TOPIC, ANOMALIES_TOPIC, DEPLOYMENTS_TOPIC
from cc.events import AlertReceived, AnomalyDetected, DeploymentObserved, Event
from cc.testing import infra
from cc.testing.groups import wait_consumed
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess
from tests.e2e.test_remediation_flow import alert_labels, deploy

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.kafka,
    pytest.mark.elasticsearch,
    pytest.mark.alertmanager,
]

# A burst of 9 new alerts within seconds: a deploy regression right after a matching deploy
# (3 are enough then), and under the 10 an alert storm needs without one. So a detector of
# another test session on the same broker, which may have missed the deploy, adds nothing here.
ALERTS = 9


def deployed(bootstrap: str, since: dict[int, int], application: str) -> DeploymentObserved:
    """The `DeploymentObserved` the ingestor made of the notification."""
    events = read_events(
        bootstrap,
        DEPLOYMENTS_TOPIC,
        since,
        until=lambda es: any(getattr(e, "application", "") == application for e in es),
    )
    [event] = [
        e for e in events if isinstance(e, DeploymentObserved) and e.application == application
    ]
    return event


def test_storm_after_a_deploy_is_one_deploy_regression_naming_that_deploy(
    endpoints: infra.Endpoints, services: dict[str, ServiceProcess], run_id: str
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    group = services["anomaly-detector"].env["CC_CONSUMER_GROUP"]
    app, namespace = f"orders-{run_id}", f"shop-{run_id}"
    decoy, decoy_namespace = f"billing-{run_id}", f"payments-{run_id}"
    anomalies_since = end_offsets(bootstrap, ANOMALIES_TOPIC)
    deploys_since = end_offsets(bootstrap, DEPLOYMENTS_TOPIC)
    alerts_since = end_offsets(bootstrap, ALERTS_TOPIC)

    deploy(app, namespace, f"bad-{run_id}", [f"good-{run_id}", f"bad-{run_id}"])
    deploy(decoy, decoy_namespace, f"fine-{run_id}", [f"fine-{run_id}"])  # later, unrelated
    suspect = deployed(bootstrap, deploys_since, app)
    deployed(bootstrap, deploys_since, decoy)
    # both deploys handled before the storm: the test is about correlation, not topic order
    wait_consumed(bootstrap, group, DEPLOYMENTS_TOPIC, timeout=60)

    labels = alert_labels(f"E2EOrdersErrors{run_id}", app, namespace, "prod")
    now = datetime.now(UTC).isoformat()
    storm = [
        {"labels": {**labels, "pod": f"{app}-{uuid.uuid4().hex[:5]}"}, "startsAt": now}
        for _ in range(ALERTS)
    ]
    response = httpx.post(f"{endpoints.alertmanager_url}/api/v2/alerts", json=storm, timeout=10)
    assert response.status_code == 200, response.text

    def all_alerts(events: list[Event]) -> bool:
        return (
            sum(isinstance(e, AlertReceived) and e.labels.get("service") == app for e in events)
            >= ALERTS
        )

    alerts = read_events(bootstrap, ALERTS_TOPIC, alerts_since, until=all_alerts, timeout=60)
    fingerprints = {
        e.fingerprint
        for e in alerts
        if isinstance(e, AlertReceived) and e.labels.get("service") == app
    }
    assert len(fingerprints) == ALERTS
    wait_consumed(bootstrap, group, ALERTS_TOPIC, timeout=60)

    def regression(events: list[Event]) -> bool:
        return any(
            isinstance(e, AnomalyDetected)
            and e.kind == "deploy_regression"
            and e.signature.service == app
            for e in events
        )

    events = read_events(bootstrap, ANOMALIES_TOPIC, anomalies_since, until=regression, timeout=30)
    ours = {
        e.metadata.event_id: e  # a copy produced twice is one event
        for e in events
        if isinstance(e, AnomalyDetected) and e.signature.service == app
    }
    [found] = [e for e in ours.values() if e.kind == "deploy_regression"]
    assert found.phase == "started"
    assert [e.kind for e in ours.values() if e.kind != "rare_signature"] == ["deploy_regression"]
    assert found.suspect is not None, found.summary
    assert (found.suspect.application, found.suspect.revision) == (app, f"bad-{run_id}")
    assert found.suspect.deployment_event_id == suspect.metadata.event_id
    assert 0 <= found.suspect.seconds_before < 60 and 0.5 <= found.suspect.score <= 1
    assert found.score == found.suspect.score
    assert (found.signature.namespace, found.signature.environment) == (namespace, "prod")
    assert set(found.member_fingerprints) <= fingerprints and found.member_fingerprints
    assert found.evidence["suspect_application"] == app
    assert found.evidence["observed"].endswith("new firings in the last 5m")
    assert f"after {app} was deployed" in found.summary
