"""The approval API on real Kafka: its read model is rebuilt from the topics after a restart,
and an approval is on the decided topic before the API answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from cc.events import RemediationDecided, SingleObjectSerde, utcnow
from cc.kafka import EventProducer
from cc.platform.auth import TokenTable
from cc.testing import infra
from cc.testing.events import incident_opened
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.plans import decided, planned
from remediation_planner.api.app import create_app
from remediation_planner.api.read_model import PlanBook
from remediation_planner.api.replay import TopicReplay

pytestmark = [pytest.mark.kafka]
PLANNED = "remediation.remediation-planned.v1"
DECIDED = "remediation.remediation-decided.v1"
OPENED = "incidents.incident-opened.v1"
TOKENS = "bob:approver:approver-token-00004\n"


def replayed(bootstrap: str) -> tuple[PlanBook, TopicReplay]:
    book = PlanBook()
    replay = TopicReplay(bootstrap, SingleObjectSerde(), book).start()
    assert replay.wait(60), "read model did not catch up"
    return book, replay


def test_plans_and_decisions_survive_a_restart_of_the_api(
    endpoints: infra.Endpoints, run_id: str
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    producer = EventProducer(bootstrap, SingleObjectSerde(), client_id=f"test-api-{run_id}")
    now = utcnow()
    incident = incident_opened(f"inc-{run_id}", title=f"Storm {run_id}")
    first = planned(
        f"p1-{run_id}",
        "k8s_restart",
        {"name": "web"},
        gate="needs_approval",
        incident_id=incident.incident_id,
        at=now,
        expires_in=timedelta(hours=1),
    )
    second = planned(
        f"p2-{run_id}",
        "k8s_restart",
        {"name": "api"},
        gate="needs_approval",
        incident_id=incident.incident_id,
        at=now,
        expires_in=timedelta(hours=1),
    )
    producer.send(OPENED, incident.incident_id, incident)
    for plan in (first, second):
        producer.send(PLANNED, plan.incident_id, plan)
    producer.send(DECIDED, first.incident_id, decided(first, "rejected", at=now))

    book, replay = replayed(bootstrap)
    app = create_app(
        book, producer, TokenTable.parse(TOKENS, "t"), registry=CollectorRegistry(), clock=utcnow
    )
    since = end_offsets(bootstrap, DECIDED)
    with TestClient(app) as client:
        headers = {"Authorization": "Bearer approver-token-00004"}
        shown = client.get(f"/api/v1/plans/{first.plan_id}", headers=headers).json()
        assert shown["status"] == "rejected"
        assert shown["incident"]["title"] == f"Storm {run_id}"
        resp = client.post(
            f"/api/v1/plans/{second.plan_id}/approve", headers=headers, json={"reason": "ok"}
        )
        assert resp.status_code == 200, resp.text
    replay.stop()
    # acknowledged before the 2xx: it is on the topic now
    events = read_events(
        bootstrap,
        DECIDED,
        since,
        until=lambda es: any(
            isinstance(e, RemediationDecided) and e.plan_id == second.plan_id for e in es
        ),
        timeout=10,
    )
    assert any(isinstance(e, RemediationDecided) and e.plan_id == second.plan_id for e in events)

    restarted, replay = replayed(bootstrap)  # a new process: only Kafka remembers
    now = utcnow()
    assert restarted.plan(first.plan_id).status(now) == "rejected"  # type: ignore[union-attr]
    assert restarted.plan(second.plan_id).status(now) == "approved"  # type: ignore[union-attr]
    replay.stop()
    producer.close()
