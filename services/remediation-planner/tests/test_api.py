"""The approval API: auth on every route, roles, four eyes, expiry, field errors, Kafka first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from cc.events import RemediationDecided, RemediationPlanned
from cc.platform.auth import TokenTable
from cc.testing.events import T0, incident_opened
from cc.testing.fakes import RecordingProducer
from cc.testing.plans import decided, planned
from remediation_planner.api.app import create_app
from remediation_planner.api.read_model import PlanBook
from remediation_planner.domain.policy import Policy, Rule

TOKENS = """
vera:viewer:viewer-token-00000001
oscar:operator:operator-token-0002
ada:approver:approver-token-00003
bob:approver:approver-token-00004
root:admin:admin-token-0000000005
"""
JWT_SECRET = "jwt-secret-for-tests-only-0123456789"
TOKEN = {
    "viewer": "viewer-token-00000001",
    "operator": "operator-token-0002",
    "ada": "approver-token-00003",
    "bob": "approver-token-00004",
    "admin": "admin-token-0000000005",
}
NOW = T0 + timedelta(minutes=30)
ROLLBACK = {"application": "web"}


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN[who]}"}


def seeded_book() -> PlanBook:
    book = PlanBook()
    book.apply(incident_opened("inc-1", title="Checkout errors after deploy"))
    hour = timedelta(hours=1)
    for event in (
        planned(
            "p-pending",
            "argocd_rollback",
            ROLLBACK,
            {"suspect_revision": "bad"},
            gate="needs_approval",
            expires_in=hour,
        ),
        planned(
            "p-expired",
            "k8s_restart",
            {"kind": "Deployment", "name": "web"},
            gate="needs_approval",
            expires_in=timedelta(minutes=5),
        ),
        planned("p-auto", "k8s_restart", {"kind": "Deployment", "name": "web"}, gate="auto"),
        planned(
            "p-forbidden",
            "k8s_scale",
            {"kind": "Deployment", "name": "web"},
            {"replicas": "0"},
            gate="forbidden",
        ),
        planned(
            "p-ada",
            "k8s_restart",
            {"kind": "Deployment", "name": "api"},
            gate="needs_approval",
            proposer="ada",
            expires_in=hour,
        ),
        planned(
            "p-other",
            "am_silence",
            {},
            {"matchers": "[]"},
            gate="needs_approval",
            incident_id="inc-2",
            expires_in=hour,
        ),
    ):
        book.apply(event)
    return book


@pytest.fixture
def producer() -> RecordingProducer:
    return RecordingProducer()


@pytest.fixture
def book() -> PlanBook:
    return seeded_book()


@pytest.fixture
def client(book: PlanBook, producer: RecordingProducer) -> TestClient:
    tokens = TokenTable.parse(TOKENS, "tokens.txt", jwt_secret=JWT_SECRET)
    app = create_app(
        book, producer, tokens, registry=CollectorRegistry(), clock=lambda: NOW, ack_timeout_s=1
    )  # type: ignore[arg-type]
    return TestClient(app)


def api_operations(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path.replace("{plan_id}", "p-pending"))
        for path, ops in spec["paths"].items()
        if path.startswith("/api/")
        for method in ops
    ]


def test_every_api_endpoint_rejects_missing_or_wrong_credentials(client: TestClient) -> None:
    operations = api_operations(client)
    assert len(operations) == 5
    for method, path in operations:
        for headers in (
            {},
            {"Authorization": "Bearer not-a-known-token"},
            {"Authorization": "Basic eDp5"},
        ):
            resp = client.request(method, path, headers=headers, json={"reason": "x"})
            assert resp.status_code == 401, (method, path, headers, resp.text)
            assert resp.headers["www-authenticate"].startswith("Bearer")


def test_every_api_endpoint_declares_its_bearer_security_in_the_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path.startswith("/api/"):
                assert op["security"] == [{"HTTPBearer": []}], (method, path)
                assert "auth:" in op["summary"]


def test_a_viewer_lists_and_reads_but_cannot_approve_reject_or_propose(
    client: TestClient, producer: RecordingProducer
) -> None:
    assert client.get("/api/v1/plans", headers=bearer("viewer")).status_code == 200
    assert client.get("/api/v1/plans/p-pending", headers=bearer("viewer")).status_code == 200
    for action in ("approve", "reject"):
        resp = client.post(
            f"/api/v1/plans/p-pending/{action}", headers=bearer("viewer"), json={"reason": "ok"}
        )
        assert resp.status_code == 403 and "needs approver" in resp.json()["detail"]
    resp = client.post(
        "/api/v1/plans/p-pending/approve", headers=bearer("operator"), json={"reason": "ok"}
    )
    assert resp.status_code == 403
    proposal = {"incident_id": "inc-1", "action": "k8s_restart", "target": {}, "rationale": "x"}
    assert client.post("/api/v1/plans", headers=bearer("viewer"), json=proposal).status_code == 403
    assert producer.sent == []


def test_approving_publishes_the_decision_before_answering(
    client: TestClient, producer: RecordingProducer
) -> None:
    resp = client.post(
        "/api/v1/plans/p-pending/approve",
        headers=bearer("bob"),
        json={"reason": "deploy broke checkout"},
    )
    assert resp.status_code == 200, resp.text
    [(topic, key, event)] = producer.sent
    assert (topic, key) == ("remediation.remediation-decided.v1", "inc-1")
    assert isinstance(event, RemediationDecided)
    assert (event.decision, event.decided_by, event.role, event.reason) == (
        "approved",
        "bob",
        "approver",
        "deploy broke checkout",
    )
    assert resp.json()["event_id"] == event.metadata.event_id
    shown = client.get("/api/v1/plans/p-pending", headers=bearer("viewer")).json()
    assert shown["status"] == "approved" and shown["decision"]["decided_by"] == "bob"


def test_a_plan_is_decided_once(client: TestClient) -> None:
    client.post("/api/v1/plans/p-pending/reject", headers=bearer("bob"), json={"reason": "no"})
    resp = client.post(
        "/api/v1/plans/p-pending/approve", headers=bearer("ada"), json={"reason": "yes"}
    )
    assert resp.status_code == 409 and "already rejected by bob" in resp.json()["detail"]


def test_the_proposer_cannot_approve_their_own_plan_but_may_reject_it(client: TestClient) -> None:
    own = client.post("/api/v1/plans/p-ada/approve", headers=bearer("ada"), json={"reason": "mine"})
    assert own.status_code == 403 and "four eyes" in own.json()["detail"]
    assert (
        client.post(
            "/api/v1/plans/p-ada/reject", headers=bearer("ada"), json={"reason": "withdrawn"}
        ).status_code
        == 200
    )


def test_an_expired_plan_cannot_be_approved(
    client: TestClient, producer: RecordingProducer
) -> None:
    resp = client.post(
        "/api/v1/plans/p-expired/approve", headers=bearer("bob"), json={"reason": "late"}
    )
    assert resp.status_code == 409
    assert "expired at 2026-11-26 11:05:00+00:00; propose it again" in resp.json()["detail"]
    assert producer.sent == []
    assert (
        client.get("/api/v1/plans/p-expired", headers=bearer("viewer")).json()["status"]
        == "expired"
    )


def test_automatic_and_forbidden_plans_have_nothing_to_decide(client: TestClient) -> None:
    for plan_id in ("p-auto", "p-forbidden"):
        resp = client.post(
            f"/api/v1/plans/{plan_id}/approve", headers=bearer("admin"), json={"reason": "x"}
        )
        assert resp.status_code == 409 and "nothing to decide" in resp.json()["detail"]


def test_unknown_plan_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/plans/nope", headers=bearer("viewer")).status_code == 404
    assert (
        client.post(
            "/api/v1/plans/nope/approve", headers=bearer("bob"), json={"reason": "x"}
        ).status_code
        == 404
    )


def test_kafka_not_acknowledging_is_503_and_nothing_is_decided(book: PlanBook) -> None:
    tokens = TokenTable.parse(TOKENS, "tokens.txt")
    for mode in ("fail", "hang"):
        app = create_app(
            book,
            RecordingProducer(mode),
            tokens,
            registry=CollectorRegistry(),
            clock=lambda: NOW,
            ack_timeout_s=0.2,
        )  # type: ignore[arg-type]
        resp = TestClient(app).post(
            "/api/v1/plans/p-pending/approve", headers=bearer("bob"), json={"reason": "x"}
        )
        assert resp.status_code == 503
        assert book.plan("p-pending").decision is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/plans/p-pending/approve", {"reason": ""}, ["body", "reason"]),
        ("POST", "/api/v1/plans/p-pending/approve", {}, ["body", "reason"]),
        ("POST", "/api/v1/plans/p-pending/reject", {"reason": "x", "extra": 1}, ["body", "extra"]),
        ("GET", "/api/v1/plans?status=sideways", None, ["query", "status"]),
        ("GET", "/api/v1/plans?limit=0", None, ["query", "limit"]),
        (
            "POST",
            "/api/v1/plans",
            {"incident_id": "inc-1", "action": "reboot", "target": {}, "rationale": "x"},
            ["body", "action"],
        ),
        (
            "POST",
            "/api/v1/plans",
            {"incident_id": "inc-9", "action": "k8s_restart", "target": {}, "rationale": "x"},
            ["body", "incident_id"],
        ),
        (
            "POST",
            "/api/v1/plans",
            {
                "incident_id": "inc-1",
                "action": "k8s_restart",
                "target": {
                    "cluster": "c",
                    "namespace": "n",
                    "service": "s",
                    "environment": "prod",
                    "kind": "Deployment",
                },
                "rationale": "x",
            },
            ["body", "target", "name"],
        ),
        (
            "POST",
            "/api/v1/plans",
            {
                "incident_id": "inc-1",
                "action": "k8s_scale",
                "target": {
                    "cluster": "c",
                    "namespace": "n",
                    "service": "s",
                    "environment": "prod",
                    "kind": "Deployment",
                    "name": "web",
                },
                "rationale": "x",
            },
            ["body", "parameters", "replicas"],
        ),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    client: TestClient, method: str, path: str, body: Any, field: list[str]
) -> None:
    resp = client.request(method, path, headers=bearer("admin"), json=body)
    assert resp.status_code == 422, resp.text
    first = resp.json()["detail"][0]
    assert first["loc"][: len(field)] == field


def test_a_proposal_needs_another_persons_approval(
    client: TestClient, producer: RecordingProducer
) -> None:
    proposal = {
        "incident_id": "inc-1",
        "action": "k8s_scale",
        "target": {
            "cluster": "prod-1",
            "namespace": "shop",
            "service": "web",
            "environment": "prod",
            "kind": "Deployment",
            "name": "web",
        },
        "parameters": {"replicas": "6"},
        "rationale": "traffic doubled",
    }
    resp = client.post("/api/v1/plans", headers=bearer("bob"), json=proposal)
    assert resp.status_code == 201, resp.text
    plan_id = resp.json()["plan_id"]
    [(topic, key, event)] = producer.sent
    assert (topic, key) == ("remediation.remediation-planned.v1", "inc-1")
    assert isinstance(event, RemediationPlanned)
    assert (event.gate, event.proposer, event.expires_at) == (
        "needs_approval",
        "bob",
        NOW + timedelta(hours=1),
    )
    assert "four-eyes" in event.gate_rule
    assert resp.json()["status"] == "pending"
    assert (
        client.post(
            f"/api/v1/plans/{plan_id}/approve", headers=bearer("bob"), json={"reason": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/plans/{plan_id}/approve", headers=bearer("ada"), json={"reason": "x"}
        ).status_code
        == 200
    )


def test_one_plan_shows_its_evidence(client: TestClient, book: PlanBook) -> None:
    book.apply(decided(book.plan("p-ada").plan, "rejected", by="bob", reason="too risky"))  # type: ignore[union-attr]
    shown = client.get("/api/v1/plans/p-pending", headers=bearer("viewer")).json()
    assert shown["incident"]["title"] == "Checkout errors after deploy"
    assert shown["incident"]["signature"]["cluster"] == "prod-1"
    assert shown["rationale"] == "argocd_rollback because the test says so"
    assert shown["parameters"] == {"suspect_revision": "bad"}
    assert shown["gate_rule"] == "test rule: needs_approval"
    rejected = client.get("/api/v1/plans/p-ada", headers=bearer("viewer")).json()
    assert rejected["status"] == "rejected" and rejected["decision"]["reason"] == "too risky"


def test_list_filters_by_status_and_incident(client: TestClient) -> None:
    def ids(query: str) -> set[str]:
        return {
            p["plan_id"]
            for p in client.get(f"/api/v1/plans{query}", headers=bearer("viewer")).json()
        }

    assert ids("?status=pending") == {"p-pending", "p-ada", "p-other"}
    assert ids("?status=expired") == {"p-expired"}
    assert ids("?status=forbidden") == {"p-forbidden"}
    assert ids("?incident_id=inc-2") == {"p-other"}
    assert len(ids("?limit=2")) == 2


def test_a_jwt_with_the_approver_role_may_approve(client: TestClient) -> None:
    token = jwt.encode(
        {"sub": "carol", "role": "approver", "exp": 4102444800}, JWT_SECRET, algorithm="HS256"
    )
    resp = client.post(
        "/api/v1/plans/p-pending/approve",
        headers={"Authorization": f"Bearer {token}"},
        json={"reason": "x"},
    )
    assert resp.status_code == 200 and resp.json()["decided_by"] == "carol"


def test_ops_routes_are_mounted_without_auth(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_a_proposal_the_policy_forbids_is_refused_and_others_name_the_rule(book: PlanBook) -> None:
    policy = Policy(
        rules=(
            Rule(
                "prod-never-scale-wide",
                "forbidden",
                frozenset({"prod"}),
                frozenset({"k8s_scale"}),
                11,
            ),
        ),
        default=Rule("people-decide", "needs_approval"),
    )
    tokens = TokenTable.parse(TOKENS, "tokens.txt")
    producer = RecordingProducer()
    app = create_app(
        book, producer, tokens, registry=CollectorRegistry(), clock=lambda: NOW, policy=policy
    )  # type: ignore[arg-type]
    client = TestClient(app)
    target = {
        "cluster": "prod-1",
        "namespace": "shop",
        "service": "web",
        "environment": "prod",
        "kind": "Deployment",
        "name": "web",
    }
    wide = {
        "incident_id": "inc-1",
        "action": "k8s_scale",
        "target": target,
        "parameters": {"replicas": "40"},
        "rationale": "x",
    }
    resp = client.post("/api/v1/plans", headers=bearer("bob"), json=wide)
    assert resp.status_code == 403 and "prod-never-scale-wide" in resp.json()["detail"]
    assert producer.sent == []
    narrow = {**wide, "parameters": {"replicas": "6"}}
    resp = client.post("/api/v1/plans", headers=bearer("bob"), json=narrow)
    assert resp.status_code == 201
    assert "policy people-decide" in resp.json()["gate_rule"]
