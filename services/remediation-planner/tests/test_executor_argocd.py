"""The GitOps-safe Argo CD rollback against the Argo CD stand-in: sequence, choice, crashes."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from cc.events import DeploymentObserved, RemediationExecuted, new_metadata
from cc.kafka import RetryableError
from cc.kafka.state import MemoryStateStore
from cc.testing.events import T0, received
from cc.testing.fake_argocd import DEFAULT_TOKEN, FakeArgoCD
from cc.testing.plans import planned
from remediation_planner.executors.argocd import ArgoCdExecutor, choose_history_id
from remediation_planner.executors.http import JsonApi
from remediation_planner.executors.loop import ExecutionHandler, Executors
from remediation_planner.executors.records import observed_health

AUTO = {"prune": True, "selfHeal": True}
TARGET = {"application": "web", "argocd_namespace": "argocd"}


class Crash(BaseException):
    """The process dies here (nothing in the executor may catch it)."""


@pytest.fixture
def argocd() -> Iterator[FakeArgoCD]:
    with FakeArgoCD() as server:
        server.add_app(
            "web", [("aaa", "Healthy"), ("bbb", "Healthy"), ("ccc", "Degraded")], automated=AUTO
        )
        yield server


def handler_for(
    argocd: FakeArgoCD, store: MemoryStateStore, client: httpx.Client | None = None
) -> ExecutionHandler:
    api = JsonApi(argocd.base_url, DEFAULT_TOKEN, client=client)
    health = functools.partial(observed_health, store)
    executor = ArgoCdExecutor(api, health, poll_interval=0, sleep=lambda _: None)
    return ExecutionHandler(store, Executors(executor, None, None), clock=lambda: T0)


def rollback_plan(plan_id: str = "p-1", restore: str = "false", wait: str = "60") -> Any:
    params = {"suspect_revision": "ccc", "restore_auto_sync": restore, "wait_healthy_seconds": wait}
    return planned(plan_id, "argocd_rollback", TARGET, params)


def executed(outputs: list[Any]) -> RemediationExecuted:
    [out] = outputs
    assert isinstance(out.event, RemediationExecuted)
    return out.event


def kafka_copy(store: MemoryStateStore) -> MemoryStateStore:
    """What a restarted process reads back: only what was flushed to Kafka."""
    return MemoryStateStore({k: v for k, v in store.flushed.items() if v is not None})


def mutating(argocd: FakeArgoCD) -> list[tuple[str, str]]:
    return [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in argocd.calls if c["ok"]]


def test_rollback_disables_auto_sync_rolls_back_waits_and_leaves_it_off(argocd: FakeArgoCD) -> None:
    store = MemoryStateStore()
    event = executed(handler_for(argocd, store).on_event(received(rollback_plan())))
    assert event.status == "succeeded", event.detail
    assert mutating(argocd) == [("PATCH", "web"), ("POST", "rollback")]
    [rollback] = argocd.rollbacks("web")
    assert rollback["body"]["id"] == 2 and rollback["body"]["prune"] is False
    app = argocd.app("web")
    assert "automated" not in app["spec"]["syncPolicy"]
    assert (app["status"]["sync"]["revision"], app["status"]["health"]["status"]) == (
        "bbb",
        "Healthy",
    )
    steps = [s["step"] for s in orjson.loads(event.detail)["steps"]]
    assert steps[:3] == ["read", "disable_auto_sync", "rollback"]
    assert "left off" in orjson.loads(event.detail)["reason"] + steps[-1]


def test_rollback_restores_the_recorded_policy_when_the_plan_says_so(argocd: FakeArgoCD) -> None:
    event = executed(
        handler_for(argocd, MemoryStateStore()).on_event(received(rollback_plan(restore="true")))
    )
    assert event.status == "succeeded"
    assert argocd.app("web")["spec"]["syncPolicy"]["automated"] == AUTO
    assert mutating(argocd) == [("PATCH", "web"), ("POST", "rollback"), ("PATCH", "web")]


def test_the_stand_in_refuses_a_rollback_with_auto_sync_on_so_the_sequence_matters(
    argocd: FakeArgoCD,
) -> None:
    api = JsonApi(argocd.base_url, DEFAULT_TOKEN)
    status, body = api.call("POST", "/api/v1/applications/web/rollback", {"id": 2})
    assert (status, body["message"]) == (
        400,
        "rollback cannot be initiated when auto-sync is enabled",
    )


def test_the_chosen_entry_is_neither_the_suspect_nor_one_seen_unhealthy(argocd: FakeArgoCD) -> None:
    argocd.add_app(
        "shop",
        [
            ("r1", "Healthy"),
            ("r2", "Healthy"),
            ("r3", "Healthy"),
            ("bad", "Degraded"),
            ("bad", "Degraded"),
        ],
        automated=AUTO,
    )
    store = MemoryStateStore()
    handler = handler_for(argocd, store)
    seen = DeploymentObserved(
        metadata=new_metadata("ingestor", occurred_at=T0),
        trigger="on-health-degraded",
        application="shop",
        revision="r3",
        health_status="Degraded",
    )
    handler.on_event(received(seen))
    plan = planned(
        "p-shop",
        "argocd_rollback",
        {"application": "shop"},
        {"suspect_revision": "bad", "wait_healthy_seconds": "60"},
    )
    assert executed(handler.on_event(received(plan))).status == "succeeded"
    [rollback] = argocd.rollbacks("shop")
    assert rollback["body"]["id"] == 2  # r2: r3 was seen degraded, 4 and 5 are the suspect


def test_choice_needs_an_entry_before_the_suspect() -> None:
    history = [{"id": 1, "revision": "bad"}, {"id": 2, "revision": "ok"}]
    assert choose_history_id(history, "bad", {}) is None
    assert choose_history_id(history, "unknown", {}) is None


def test_a_crash_between_disabling_and_rolling_back_resumes_without_a_second_rollback(
    argocd: FakeArgoCD,
) -> None:
    def die_before_rollback(request: httpx.Request) -> None:
        if request.url.path.endswith("/rollback"):
            raise Crash

    store = MemoryStateStore()
    dying = httpx.Client(event_hooks={"request": [die_before_rollback]})
    with pytest.raises(Crash):
        handler_for(argocd, store, dying).on_event(received(rollback_plan(restore="true")))
    assert mutating(argocd) == [("PATCH", "web")]
    assert "automated" not in argocd.app("web")["spec"]["syncPolicy"]

    restarted = handler_for(argocd, kafka_copy(store))
    event = executed(restarted.on_event(received(rollback_plan(restore="true"))))
    assert event.status == "succeeded", event.detail
    assert len(argocd.rollbacks("web")) == 1
    # the policy recorded before the crash is the one restored, not the "off" seen after it
    assert argocd.app("web")["spec"]["syncPolicy"]["automated"] == AUTO


def test_a_crash_after_the_rollback_was_sent_does_not_send_it_again(argocd: FakeArgoCD) -> None:
    def die_after_rollback(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/rollback"):
            raise Crash

    store = MemoryStateStore()
    dying = httpx.Client(event_hooks={"response": [die_after_rollback]})
    with pytest.raises(Crash):
        handler_for(argocd, store, dying).on_event(received(rollback_plan()))
    assert len(argocd.rollbacks("web")) == 1

    event = executed(handler_for(argocd, kafka_copy(store)).on_event(received(rollback_plan())))
    assert event.status == "succeeded", event.detail
    assert len(argocd.rollbacks("web")) == 1
    assert "not repeated" in event.detail


def test_a_redelivered_plan_is_reported_again_but_not_acted_on(argocd: FakeArgoCD) -> None:
    handler = handler_for(argocd, MemoryStateStore())
    first = executed(handler.on_event(received(rollback_plan())))
    calls = len(argocd.calls)
    again = executed(handler.on_event(received(rollback_plan())))
    assert len(argocd.calls) == calls
    assert again.metadata.event_id == first.metadata.event_id
    assert again.execution_id == first.execution_id


def test_not_healthy_in_time_fails_and_leaves_auto_sync_off(argocd: FakeArgoCD) -> None:
    argocd.set_health("web", "bbb", "Degraded")
    plan = rollback_plan(restore="true", wait="0")
    event = executed(handler_for(argocd, MemoryStateStore()).on_event(received(plan)))
    assert event.status == "failed"
    assert "auto-sync left off" in event.detail
    assert "automated" not in argocd.app("web")["spec"]["syncPolicy"]


def test_an_app_no_longer_on_the_suspect_revision_is_skipped(argocd: FakeArgoCD) -> None:
    plan = planned("p-2", "argocd_rollback", TARGET, {"suspect_revision": "zzz"})
    event = executed(handler_for(argocd, MemoryStateStore()).on_event(received(plan)))
    assert event.status == "skipped"
    assert argocd.calls == []


def test_sync_to_a_revision_waits_for_healthy(argocd: FakeArgoCD) -> None:
    argocd.add_app("api", [("v1", "Healthy")])
    plan = planned("p-sync", "argocd_sync", {"application": "api"}, {"revision": "v2"})
    event = executed(handler_for(argocd, MemoryStateStore()).on_event(received(plan)))
    assert event.status == "succeeded", event.detail
    assert argocd.app("api")["status"]["sync"]["revision"] == "v2"


def test_sync_refused_by_auto_sync_fails_with_argo_cds_message(argocd: FakeArgoCD) -> None:
    plan = planned("p-sync2", "argocd_sync", TARGET, {"revision": "aaa"})
    event = executed(handler_for(argocd, MemoryStateStore()).on_event(received(plan)))
    assert event.status == "failed"
    assert "auto-sync currently set to HEAD" in event.detail


def test_wrong_token_fails_the_execution_naming_the_status(argocd: FakeArgoCD) -> None:
    api = JsonApi(argocd.base_url, "wrong-token")
    store = MemoryStateStore()
    executor = ArgoCdExecutor(api, functools.partial(observed_health, store), poll_interval=0)
    handler = ExecutionHandler(store, Executors(executor, None, None), clock=lambda: T0)
    event = executed(handler.on_event(received(rollback_plan())))
    assert event.status == "failed" and "401" in event.detail


def test_a_bad_wait_parameter_fails_the_execution_before_any_rollback(argocd: FakeArgoCD) -> None:
    plan = rollback_plan(wait="soon")
    event = executed(handler_for(argocd, MemoryStateStore()).on_event(received(plan)))
    assert event.status == "failed" and "wait_healthy_seconds" in event.detail
    assert argocd.rollbacks("web") == []


def test_argo_cd_unreachable_mid_sequence_is_retried_by_the_loop_and_resumes(
    argocd: FakeArgoCD,
) -> None:
    failures = {"left": 1}

    def flaky(request: httpx.Request) -> None:
        if request.url.path.endswith("/rollback") and failures["left"]:
            failures["left"] -= 1
            raise httpx.ConnectError("connection refused", request=request)

    handler = handler_for(
        argocd, MemoryStateStore(), httpx.Client(event_hooks={"request": [flaky]})
    )
    with pytest.raises(RetryableError):  # the loop pauses, commits nothing, calls again
        handler.on_event(received(rollback_plan()))
    event = executed(handler.on_event(received(rollback_plan())))
    assert event.status == "succeeded", event.detail
    assert mutating(argocd) == [("PATCH", "web"), ("POST", "rollback")]
