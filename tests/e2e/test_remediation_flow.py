"""Deploy -> storm -> one incident naming the deploy -> a gated rollback plan -> executed (staging)
-> verified -> the next similar incident's plan shows the learned success rate.

Through the real pipeline: an Argo CD notification into the ingestor, alert storms through the
real Alertmanager, the anomaly-detector, the remediation-planner (restarted here with a policy
without time windows, short quiet and verification periods) and its executors as a process
against the Argo CD stand-in (contracts.md §4).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cc.events import (
    Event,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    RemediationExecuted,
    RemediationPlanned,
    RemediationVerified,
)
from cc.testing import infra
from cc.testing.argocd_webhook import on_deployed, post_notification
from cc.testing.fake_argocd import DEFAULT_TOKEN, FakeArgoCD
from cc.testing.groups import wait_consumed
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess
from tests.conftest import E2E_INGESTOR_PORT
from tests.e2e.conftest import E2E_ARGOCD_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.alertmanager]

ROOT = Path(__file__).resolve().parents[2]
STORM = 60
POLICY = """
version: 1
approval_ttl_minutes: 30
rate_limit: {automatic_actions_per_service_per_hour: 3}
rules:
  - {name: prod-needs-approval, environments: [prod], gate: needs_approval}
  - name: staging-automatic
    environments: [staging]
    actions: [argocd_rollback, argocd_sync, k8s_restart, k8s_scale]
    gate: auto
default: {name: default-needs-approval, gate: needs_approval}
"""
DEPLOYMENTS = "deployments.deployment-observed.v1"
TOPICS = {
    "opened": "incidents.incident-opened.v1",
    "updated": "incidents.incident-updated.v1",
    "resolved": "incidents.incident-resolved.v1",
    "planned": "remediation.remediation-planned.v1",
    "executed": "remediation.remediation-executed.v1",
    "verified": "remediation.remediation-verified.v1",
}


@pytest.fixture(scope="module")
def argocd() -> Iterator[FakeArgoCD]:
    with FakeArgoCD() as server:
        yield server


@pytest.fixture(scope="module")
def planner(
    services: dict[str, ServiceProcess],
    endpoints: infra.Endpoints,
    argocd: FakeArgoCD,
    tmp_path_factory: pytest.TempPathFactory,
) -> ServiceProcess:
    """The session's planner restarted with this flow's settings (its executors act on a local
    Argo CD stand-in and the real Alertmanager)."""
    policy = tmp_path_factory.mktemp("planner") / "policy.yaml"
    policy.write_text(POLICY)
    session = services["remediation-planner"]
    session.stop()
    env = {
        **session.env,
        "REMEDIATION_PLANNER_RUNBOOKS_FILE": str(ROOT / "deploy/remediation-planner/runbooks.yaml"),
        "REMEDIATION_PLANNER_POLICY_FILE": str(policy),
        "REMEDIATION_PLANNER_QUIET_PERIOD_S": "3",
        "REMEDIATION_PLANNER_VERIFY_PERIOD_S": "6",
        "REMEDIATION_PLANNER_UPDATE_INTERVAL_S": "1",
        "REMEDIATION_PLANNER_ARGOCD_URL": argocd.base_url,
        "REMEDIATION_PLANNER_ARGOCD_TOKEN": DEFAULT_TOKEN,
        "REMEDIATION_PLANNER_ARGOCD_POLL_INTERVAL_S": "0.2",
        "REMEDIATION_PLANNER_ALERTMANAGER_URL": endpoints.alertmanager_url,
    }
    flow = ServiceProcess(session.name, session.port, session.log_file, env).start()
    services["remediation-planner"] = flow  # the session stops it at the end
    flow.wait_ready()  # its executor loop's group started at "now" with the session's groups
    return flow


def deploy(app: str, namespace: str, revision: str, history: list[str]) -> None:
    """Argo CD's on-deployed notification (deploy/argocd body contract) into the ingestor."""
    body = on_deployed(app, namespace, revision, history)
    response = post_notification(f"http://127.0.0.1:{E2E_INGESTOR_PORT}", E2E_ARGOCD_TOKEN, body)
    assert response.status_code == 202, response.text


def alert_labels(alertname: str, service: str, namespace: str, env: str) -> dict[str, str]:
    """The labels of a storm's alerts (each alert adds its own pod)."""
    return {
        "alertname": alertname,
        "service": service,
        "namespace": namespace,
        "env": env,
        "severity": "critical",
    }


def storm(am_url: str, labels: dict[str, str], *, resolve: bool = False) -> None:
    """STORM alerts of one service through the real Alertmanager (or their resolution)."""
    now = datetime.now(UTC).isoformat()
    alerts = [
        {
            "labels": {**labels, "pod": f"{labels['service']}-{i}"},
            "annotations": {"summary": "error rate high"},
            "startsAt": now,
            **({"endsAt": now} if resolve else {}),
        }
        for i in range(STORM)
    ]
    response = httpx.post(f"{am_url}/api/v2/alerts", json=alerts, timeout=10)
    assert response.status_code == 200, response.text


class Topics:
    """What appeared on the flow's topics since the test began."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.since = {name: end_offsets(bootstrap, topic) for name, topic in TOPICS.items()}

    def wait(
        self, name: str, holds: Callable[[Event], bool], *, count: int = 1, timeout: float = 60
    ) -> list[Any]:
        """Every event on the topic that holds, once `count` of them arrived."""
        events = read_events(
            self.bootstrap,
            TOPICS[name],
            self.since[name],
            until=lambda es: sum(map(holds, es)) >= count,
            timeout=timeout,
        )
        found = [e for e in events if holds(e)]
        assert len(found) >= count, f"{len(found)} of {count} {name} events after {timeout}s"
        return found


def service_of(service: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, IncidentOpened) and e.signature.service == service


def of_incident(incident_id: str) -> Callable[[Event], bool]:
    return lambda e: getattr(e, "incident_id", None) == incident_id


def rollback_of(incident_id: str) -> Callable[[Event], bool]:
    """The incident's rollback plan (a first, other plan exists when the planner met the
    storm's first anomaly before the deploy event: the deploy then comes as an update)."""
    return lambda e: of_incident(incident_id)(e) and getattr(e, "action", "") == "argocd_rollback"


def of_plan(plan_id: str) -> Callable[[Event], bool]:
    return lambda e: getattr(e, "plan_id", None) == plan_id


def suspect_named(topics: Topics, incident: IncidentOpened) -> tuple[str, str]:
    """(application, revision) of the suspect the incident names, at opening or in an update."""
    if incident.suspect is not None:
        return incident.suspect.application, incident.suspect.revision

    def names_one(e: Event) -> bool:
        return (
            isinstance(e, IncidentUpdated)
            and e.incident_id == incident.incident_id
            and e.suspect is not None
        )

    update = topics.wait("updated", names_one)[0]
    return update.suspect.application, update.suspect.revision


def test_prod_storm_after_a_deploy_is_one_incident_with_a_rollback_awaiting_approval(
    endpoints: infra.Endpoints, planner: ServiceProcess, run_id: str
) -> None:
    topics = Topics(endpoints.kafka_bootstrap)
    app, namespace = f"pay-{run_id}", f"shop-{run_id}"
    deploy(app, namespace, "bad-prod-1", ["good-0", "bad-prod-1"])
    # the planner saw the deploy before the storm, as it would in life (the other order: unit tests)
    wait_consumed(endpoints.kafka_bootstrap, planner.env["CC_CONSUMER_GROUP"], DEPLOYMENTS)
    labels = alert_labels(f"E2EErrors{run_id}", app, namespace, "prod")
    storm(endpoints.alertmanager_url, labels)

    [opened] = topics.wait("opened", service_of(app))
    assert suspect_named(topics, opened) == (app, "bad-prod-1"), "the incident names the deploy"
    [plan] = topics.wait("planned", rollback_of(opened.incident_id))
    assert isinstance(plan, RemediationPlanned)
    assert (plan.action, plan.gate, plan.gate_rule) == (
        "argocd_rollback",
        "needs_approval",
        "prod-needs-approval",
    )
    assert plan.target["application"] == app and plan.parameters["suspect_revision"] == "bad-prod-1"
    assert plan.expires_at is not None and "left off" in plan.rationale
    # a second wave of the storm joins the same incident: still one incident for the service
    storm(endpoints.alertmanager_url, {**labels, "wave": "2"})

    def whole_storm(e: Event) -> bool:
        return (
            isinstance(e, IncidentUpdated)
            and e.incident_id == opened.incident_id
            and len(e.member_fingerprints) >= 2 * STORM
        )

    topics.wait("updated", whole_storm)
    later = topics.wait("opened", service_of(app), timeout=1)
    assert [e.incident_id for e in later] == [opened.incident_id]


def test_staging_rollback_runs_is_verified_and_teaches_the_next_plan(
    endpoints: infra.Endpoints, planner: ServiceProcess, argocd: FakeArgoCD, run_id: str
) -> None:
    topics = Topics(endpoints.kafka_bootstrap)
    app, namespace = f"cart-{run_id}", f"shop-{run_id}"
    argocd.add_app(
        app,
        [("good-1", "Healthy"), ("bad-2", "Healthy")],
        automated={"prune": True, "selfHeal": True},
    )
    deploy(app, namespace, "bad-2", ["good-1", "bad-2"])
    wait_consumed(endpoints.kafka_bootstrap, planner.env["CC_CONSUMER_GROUP"], DEPLOYMENTS)
    labels = alert_labels(f"E2ECartErrors{run_id}", app, namespace, "staging")
    storm(endpoints.alertmanager_url, labels)

    [opened] = topics.wait("opened", service_of(app))
    assert suspect_named(topics, opened) == (app, "bad-2")
    [plan] = topics.wait("planned", rollback_of(opened.incident_id))
    assert (plan.action, plan.gate, plan.gate_rule) == (
        "argocd_rollback",
        "auto",
        "staging-automatic",
    )
    [done] = topics.wait("executed", of_plan(plan.plan_id), timeout=60)
    assert isinstance(done, RemediationExecuted)
    assert done.status == "succeeded", done.detail
    [rollback] = argocd.rollbacks(app)
    assert rollback["body"]["id"] in (1, "1"), "back to the history entry before the suspect"

    storm(endpoints.alertmanager_url, labels, resolve=True)  # the rollback worked
    [verified] = topics.wait("verified", of_plan(plan.plan_id), timeout=60)
    assert isinstance(verified, RemediationVerified)
    assert verified.outcome == "resolved" and verified.execution_id == done.execution_id
    [resolved] = topics.wait("resolved", of_incident(opened.incident_id), timeout=60)
    assert isinstance(resolved, IncidentResolved)

    # a second similar incident: another bad deploy of the same service, another storm
    argocd.add_app(
        app,
        [("good-1", "Healthy"), ("bad-2", "Healthy"), ("good-1", "Healthy"), ("bad-3", "Healthy")],
        automated={"prune": True, "selfHeal": True},
    )
    deploy(app, namespace, "bad-3", ["good-1", "bad-2", "good-1", "bad-3"])
    wait_consumed(endpoints.kafka_bootstrap, planner.env["CC_CONSUMER_GROUP"], DEPLOYMENTS)
    storm(endpoints.alertmanager_url, {**labels, "wave": uuid.uuid4().hex[:6]})
    incidents = topics.wait("opened", service_of(app), count=2)
    second = next(e for e in incidents if e.incident_id != opened.incident_id)
    [again] = topics.wait("planned", rollback_of(second.incident_id))
    assert again.action == "argocd_rollback"
    assert (
        "argocd_rollback resolved 1 of 1 similar incidents for this service (posterior 0.80)"
        in again.rationale
    )
