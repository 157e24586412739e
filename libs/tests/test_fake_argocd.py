"""The Argo CD stand-in enforces contracts.md §4 over real loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cc.testing.fake_argocd import DEFAULT_TOKEN, FakeArgoCD

AUTO = {"prune": True, "selfHeal": True}


@pytest.fixture
def argocd() -> Iterator[FakeArgoCD]:
    with FakeArgoCD() as server:
        server.add_app("web", [("aaa", "Healthy"), ("bbb", "Healthy")], automated=AUTO)
        yield server


@pytest.fixture
def http(argocd: FakeArgoCD) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    with httpx.Client(base_url=argocd.base_url, headers=headers, trust_env=False) as client:
        yield client


def patch_policy(http: httpx.Client, automated: Any) -> httpx.Response:
    patch = json.dumps({"spec": {"syncPolicy": {"automated": automated}}})
    return http.patch(
        "/api/v1/applications/web", json={"name": "web", "patchType": "merge", "patch": patch}
    )


def test_get_returns_the_sync_policy_history_and_health(http: httpx.Client) -> None:
    app = http.get("/api/v1/applications/web").json()
    assert app["spec"]["syncPolicy"]["automated"] == AUTO
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(1, "aaa"), (2, "bbb")]
    assert app["status"]["health"]["status"] == "Healthy"
    assert app["status"]["history"][0]["deployedAt"].endswith("Z")


def test_missing_or_wrong_token_is_unauthenticated(argocd: FakeArgoCD) -> None:
    url = f"{argocd.base_url}/api/v1/applications/web"
    none = httpx.get(url, trust_env=False)
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"}, trust_env=False)
    assert none.status_code == wrong.status_code == 401
    assert none.json() == {
        "error": "no session information",
        "code": 16,
        "message": "no session information",
        "details": [],
    }


def test_unknown_app_is_404_not_found(http: httpx.Client) -> None:
    resp = http.get("/api/v1/applications/nope")
    assert resp.status_code == 404
    assert resp.json()["code"] == 5
    assert resp.json()["message"] == 'applications.argoproj.io "nope" not found'


def test_rollback_is_refused_while_auto_sync_is_on(http: httpx.Client, argocd: FakeArgoCD) -> None:
    resp = http.post("/api/v1/applications/web/rollback", json={"name": "web", "id": 1})
    assert resp.status_code == 400
    assert resp.json()["code"] == 9  # FailedPrecondition
    assert resp.json()["message"] == "rollback cannot be initiated when auto-sync is enabled"
    assert argocd.rollbacks("web") == []


def test_enabled_false_counts_as_auto_sync_off(http: httpx.Client) -> None:
    assert patch_policy(http, {"enabled": False}).status_code == 200
    resp = http.post("/api/v1/applications/web/rollback", json={"id": 1})
    assert resp.status_code == 200


def test_rollback_after_disabling_runs_an_operation_to_the_history_revision(
    http: httpx.Client, argocd: FakeArgoCD
) -> None:
    assert patch_policy(http, None).status_code == 200
    assert "automated" not in http.get("/api/v1/applications/web").json()["spec"]["syncPolicy"]
    resp = http.post("/api/v1/applications/web/rollback", json={"id": "1", "prune": False})
    assert resp.status_code == 200  # grpc-gateway takes an int64 as a number or a string
    assert resp.json()["status"]["operationState"]["phase"] == "Running"
    again = http.post("/api/v1/applications/web/rollback", json={"id": 1})
    assert again.status_code == 400 and "in progress" in again.json()["message"]
    states = [http.get("/api/v1/applications/web").json() for _ in range(2)]
    assert states[0]["status"]["health"]["status"] == "Progressing"
    done = states[1]["status"]
    assert (done["sync"]["revision"], done["health"]["status"]) == ("aaa", "Healthy")
    assert [h["revision"] for h in done["history"]] == ["aaa", "bbb", "aaa"]
    assert len(argocd.rollbacks("web")) == 1


def test_rollback_to_an_unknown_id_is_invalid_argument(http: httpx.Client) -> None:
    patch_policy(http, None)
    resp = http.post("/api/v1/applications/web/rollback", json={"id": 42})
    assert resp.status_code == 400
    assert resp.json()["code"] == 3
    assert resp.json()["message"] == "application web does not have deployment with id 42"


def test_unsupported_patch_type_is_invalid_argument(http: httpx.Client) -> None:
    resp = http.patch("/api/v1/applications/web", json={"patchType": "strategic", "patch": "{}"})
    assert resp.status_code == 400
    assert resp.json()["message"] == "Patch type 'strategic' is not supported"


def test_json_patch_is_the_default_patch_type(http: httpx.Client) -> None:
    ops = [{"op": "remove", "path": "/spec/syncPolicy/automated"}]
    assert http.patch("/api/v1/applications/web", json={"patch": json.dumps(ops)}).is_success
    assert "automated" not in http.get("/api/v1/applications/web").json()["spec"]["syncPolicy"]


def test_put_replaces_the_spec(http: httpx.Client) -> None:
    app = http.get("/api/v1/applications/web").json()
    app["spec"]["syncPolicy"] = {}
    assert http.put("/api/v1/applications/web", json=app).status_code == 200
    assert http.get("/api/v1/applications/web").json()["spec"]["syncPolicy"] == {}


def test_sync_to_another_revision_is_refused_with_auto_sync_on(http: httpx.Client) -> None:
    resp = http.post("/api/v1/applications/web/sync", json={"revision": "aaa"})
    assert resp.status_code == 400
    assert resp.json()["message"] == "Cannot sync to aaa: auto-sync currently set to HEAD"


def test_a_degraded_revision_ends_degraded(http: httpx.Client, argocd: FakeArgoCD) -> None:
    argocd.set_health("web", "ccc", "Degraded")
    patch_policy(http, None)
    assert http.post("/api/v1/applications/web/sync", json={"revision": "ccc"}).is_success
    states = [http.get("/api/v1/applications/web").json()["status"] for _ in range(2)]
    assert states[-1]["health"]["status"] == "Degraded"


def test_auto_sync_rolls_a_rolled_back_app_forward_again(http: httpx.Client) -> None:
    patch_policy(http, None)
    http.post("/api/v1/applications/web/rollback", json={"id": 1})
    for _ in range(2):
        http.get("/api/v1/applications/web")
    patch_policy(http, AUTO)  # re-enabled before Git was reverted: argo-cd #5351
    revisions = [
        http.get("/api/v1/applications/web").json()["status"]["sync"]["revision"] for _ in range(3)
    ]
    assert revisions[-1] == "bbb"


def test_session_login_returns_a_token(http: httpx.Client) -> None:
    ok = http.post("/api/v1/session", json={"username": "admin", "password": "password"})
    bad = http.post("/api/v1/session", json={"username": "admin", "password": "x"})
    assert ok.json() == {"token": DEFAULT_TOKEN}
    assert bad.status_code == 401
