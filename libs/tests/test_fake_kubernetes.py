"""The Kubernetes stand-in enforces the apps/v1 patch and scale contracts over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cc.testing.fake_kubernetes import DEFAULT_TOKEN, RESTARTED_AT, FakeKubernetes

DEPLOY = "/apis/apps/v1/namespaces/shop/deployments/web"
SMP = {"Content-Type": "application/strategic-merge-patch+json"}


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with FakeKubernetes() as server:
        server.add("shop", "web", replicas=3)
        yield server


@pytest.fixture
def http(kube: FakeKubernetes) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    with httpx.Client(base_url=kube.base_url, headers=headers, trust_env=False) as client:
        yield client


def restart_patch(at: str) -> dict[str, object]:
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}


def test_unauthenticated_requests_get_a_401_status(kube: FakeKubernetes) -> None:
    resp = httpx.get(kube.base_url + DEPLOY, trust_env=False)
    assert resp.status_code == 401
    assert resp.json()["kind"] == "Status" and resp.json()["reason"] == "Unauthorized"


def test_unknown_deployment_is_a_404_status(http: httpx.Client) -> None:
    resp = http.get("/apis/apps/v1/namespaces/shop/deployments/nope")
    assert resp.status_code == 404
    body = resp.json()
    assert body["message"] == 'deployments.apps "nope" not found'
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_restart_annotation_patch_bumps_generation(http: httpx.Client) -> None:
    resp = http.patch(DEPLOY, json=restart_patch("2026-11-26T12:00:00Z"), headers=SMP)
    assert resp.status_code == 200
    got = http.get(DEPLOY).json()
    assert (
        got["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT] == "2026-11-26T12:00:00Z"
    )
    assert got["spec"]["template"]["metadata"]["labels"] == {"app": "web"}  # merged, not replaced
    assert got["metadata"]["generation"] == 2


def test_merge_patch_is_accepted_and_json_content_type_is_415(http: httpx.Client) -> None:
    merge = {"Content-Type": "application/merge-patch+json"}
    assert http.patch(DEPLOY, json=restart_patch("x"), headers=merge).status_code == 200
    plain = http.patch(DEPLOY, json=restart_patch("y"))
    assert plain.status_code == 415
    assert plain.json()["reason"] == "UnsupportedMediaType"


def test_scale_subresource_get_and_put(http: httpx.Client, kube: FakeKubernetes) -> None:
    scale = http.get(DEPLOY + "/scale").json()
    assert (scale["kind"], scale["apiVersion"], scale["spec"]) == (
        "Scale",
        "autoscaling/v1",
        {"replicas": 3},
    )
    scale["spec"]["replicas"] = 5
    resp = http.put(DEPLOY + "/scale", json=scale)
    assert resp.status_code == 200 and resp.json()["spec"]["replicas"] == 5
    assert kube.get("shop", "web")["spec"]["replicas"] == 5


def test_stale_resource_version_is_a_409_conflict(http: httpx.Client, kube: FakeKubernetes) -> None:
    scale = http.get(DEPLOY + "/scale").json()
    kube.conflict_next()
    scale["spec"]["replicas"] = 1
    resp = http.put(DEPLOY + "/scale", json=scale)
    assert resp.status_code == 409
    assert resp.json()["reason"] == "Conflict"
    assert "the object has been modified" in resp.json()["message"]
    assert kube.get("shop", "web")["spec"]["replicas"] == 3


def test_negative_replicas_is_422_naming_the_field(http: httpx.Client) -> None:
    resp = http.put(DEPLOY + "/scale", json={"spec": {"replicas": -1}})
    assert resp.status_code == 422
    body = resp.json()
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "spec.replicas"
    assert 'Scale.autoscaling "web" is invalid: spec.replicas' in body["message"]


def test_statefulsets_are_served_too(http: httpx.Client, kube: FakeKubernetes) -> None:
    kube.add("shop", "db", replicas=1, kind="statefulsets")
    assert http.get("/apis/apps/v1/namespaces/shop/statefulsets/db").json()["kind"] == "StatefulSet"
