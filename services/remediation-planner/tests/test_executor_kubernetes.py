"""Rollout restart and scale against the Kubernetes stand-in: once, conflicts, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cc.events import RemediationExecuted
from cc.kafka.state import MemoryStateStore
from cc.testing.events import T0, received
from cc.testing.fake_kubernetes import DEFAULT_TOKEN, RESTARTED_AT, FakeKubernetes
from cc.testing.plans import planned
from remediation_planner.executors.http import JsonApi
from remediation_planner.executors.kubernetes import KubernetesExecutor
from remediation_planner.executors.loop import ExecutionHandler, Executors

TARGET = {"kind": "Deployment", "name": "web", "namespace": "shop"}


class Crash(BaseException):
    """The process dies here."""


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with FakeKubernetes() as server:
        server.add("shop", "web", replicas=3)
        yield server


def handler_for(
    kube: FakeKubernetes, store: MemoryStateStore, client: httpx.Client | None = None
) -> ExecutionHandler:
    executor = KubernetesExecutor(JsonApi(kube.base_url, DEFAULT_TOKEN, client=client), lambda: T0)
    return ExecutionHandler(store, Executors(None, executor, None), clock=lambda: T0)


def run(handler: ExecutionHandler, plan: Any) -> RemediationExecuted:
    [out] = handler.on_event(received(plan))
    assert isinstance(out.event, RemediationExecuted)
    return out.event


def test_restart_sets_the_annotation_once_even_when_redelivered(kube: FakeKubernetes) -> None:
    handler = handler_for(kube, MemoryStateStore())
    plan = planned("p-r", "k8s_restart", TARGET)
    assert run(handler, plan).status == "succeeded"
    assert run(handler, plan).status == "succeeded"
    assert len(kube.writes) == 1
    annotations = kube.get("shop", "web")["spec"]["template"]["metadata"]["annotations"]
    assert annotations[RESTARTED_AT] == "2026-11-26T11:00:00Z"


def test_a_crash_after_the_restart_patch_finds_it_done_on_resume(kube: FakeKubernetes) -> None:
    def die_after_patch(response: httpx.Response) -> None:
        if response.request.method == "PATCH":
            raise Crash

    store = MemoryStateStore()
    with pytest.raises(Crash):
        run(
            handler_for(kube, store, httpx.Client(event_hooks={"response": [die_after_patch]})),
            planned("p-r", "k8s_restart", TARGET),
        )
    restarted = MemoryStateStore({k: v for k, v in store.flushed.items() if v is not None})
    event = run(handler_for(kube, restarted), planned("p-r", "k8s_restart", TARGET))
    assert event.status == "succeeded" and "found done" in event.detail
    assert len(kube.writes) == 1


def test_scale_retries_a_write_conflict_with_the_latest_version(kube: FakeKubernetes) -> None:
    kube.conflict_next(2)
    event = run(
        handler_for(kube, MemoryStateStore()),
        planned("p-s", "k8s_scale", TARGET, {"replicas": "6"}),
    )
    assert event.status == "succeeded", event.detail
    assert kube.get("shop", "web")["spec"]["replicas"] == 6
    assert event.detail.count('"conflict"') == 2


def test_scale_to_the_current_count_is_skipped(kube: FakeKubernetes) -> None:
    event = run(
        handler_for(kube, MemoryStateStore()),
        planned("p-s", "k8s_scale", TARGET, {"replicas": "3"}),
    )
    assert event.status == "skipped"
    assert kube.writes == []


def test_scale_refused_as_invalid_fails_with_the_api_message(kube: FakeKubernetes) -> None:
    event = run(
        handler_for(kube, MemoryStateStore()),
        planned("p-s", "k8s_scale", TARGET, {"replicas": "-2"}),
    )
    assert event.status == "failed"
    assert "spec.replicas" in event.detail


def test_missing_workload_fails_with_the_not_found_status(kube: FakeKubernetes) -> None:
    plan = planned(
        "p-x", "k8s_restart", {"kind": "Deployment", "name": "nope", "namespace": "shop"}
    )
    event = run(handler_for(kube, MemoryStateStore()), plan)
    assert event.status == "failed" and "404" in event.detail


def test_statefulsets_restart_too(kube: FakeKubernetes) -> None:
    kube.add("shop", "db", replicas=1, kind="statefulsets")
    plan = planned(
        "p-db", "k8s_restart", {"kind": "StatefulSet", "name": "db", "namespace": "shop"}
    )
    assert run(handler_for(kube, MemoryStateStore()), plan).status == "succeeded"
    annotations = kube.get("shop", "db", "statefulsets")["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert RESTARTED_AT in annotations
