"""Which plans the execution loop runs: gates, decisions, expiry, and one execution per plan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cc.events import RemediationDecided, RemediationExecuted
from cc.kafka.state import MemoryStateStore
from cc.testing.events import T0, received
from cc.testing.plans import decided, planned, resolved
from remediation_planner.executors.loop import ExecutionHandler, Executors
from remediation_planner.executors.records import Plan, Progress, execution_id_of

TARGET = {"kind": "Deployment", "name": "web"}


class RecordingKubernetes:
    """Counts restarts instead of calling an API."""

    def __init__(self) -> None:
        self.restarts: list[str] = []

    def restart(self, plan: Plan, p: Progress) -> str:
        self.restarts.append(plan.plan_id)
        return p.finish("succeeded", "restarted")

    def scale(self, plan: Plan, p: Progress) -> str:
        raise AssertionError("not used")


def setup() -> tuple[ExecutionHandler, RecordingKubernetes]:
    kube = RecordingKubernetes()
    handler = ExecutionHandler(MemoryStateStore(), Executors(None, kube, None), clock=lambda: T0)  # type: ignore[arg-type]
    return handler, kube


def statuses(outputs: list[Any]) -> list[str]:
    return [o.event.status for o in outputs if isinstance(o.event, RemediationExecuted)]


def test_an_automatic_plan_runs_at_once() -> None:
    handler, kube = setup()
    out = handler.on_event(received(planned("p1", "k8s_restart", TARGET, gate="auto")))
    assert statuses(out) == ["succeeded"] and kube.restarts == ["p1"]
    assert out[0].event.execution_id == execution_id_of("p1")
    assert out[0].key == "inc-1"


def test_a_forbidden_plan_is_never_executed_even_if_approved() -> None:
    handler, kube = setup()
    plan = planned("p1", "k8s_restart", TARGET, gate="forbidden")
    assert statuses(handler.on_event(received(plan))) == ["skipped"]
    assert statuses(handler.on_event(received(decided(plan)))) == ["skipped"]
    assert kube.restarts == []


def test_a_plan_needing_approval_waits_for_it() -> None:
    handler, kube = setup()
    plan = planned(
        "p1", "k8s_restart", TARGET, gate="needs_approval", expires_in=timedelta(hours=1)
    )
    assert handler.on_event(received(plan)) == []
    assert statuses(handler.on_event(received(decided(plan)))) == ["succeeded"]
    assert kube.restarts == ["p1"]


def test_a_rejected_plan_does_nothing() -> None:
    handler, kube = setup()
    plan = planned("p1", "k8s_restart", TARGET, gate="needs_approval")
    handler.on_event(received(plan))
    assert handler.on_event(received(decided(plan, "rejected"))) == []
    assert kube.restarts == []


def test_the_first_decision_wins_and_a_second_approval_does_not_act_again() -> None:
    handler, kube = setup()
    plan = planned("p1", "k8s_restart", TARGET, gate="needs_approval")
    handler.on_event(received(plan))
    handler.on_event(received(decided(plan, by="bob")))
    assert handler.on_event(received(decided(plan, by="carol"))) == []
    assert kube.restarts == ["p1"]


def test_a_decision_that_arrives_before_its_plan_is_applied_when_the_plan_comes() -> None:
    handler, kube = setup()
    plan = planned("p1", "k8s_restart", TARGET, gate="needs_approval")
    assert handler.on_event(received(decided(plan))) == []
    assert statuses(handler.on_event(received(plan))) == ["succeeded"]
    assert kube.restarts == ["p1"]


def test_an_approval_after_expiry_is_skipped() -> None:
    handler, kube = setup()
    plan = planned(
        "p1", "k8s_restart", TARGET, gate="needs_approval", expires_in=timedelta(minutes=5)
    )
    handler.on_event(received(plan))
    late = decided(plan, at=T0 + timedelta(minutes=10))
    out = handler.on_event(received(late))
    assert statuses(out) == ["skipped"] and "expired" in out[0].event.detail
    assert kube.restarts == []


def test_an_expired_decision_records_a_skip() -> None:
    handler, kube = setup()
    plan = planned("p1", "k8s_restart", TARGET, gate="needs_approval")
    handler.on_event(received(plan))
    assert statuses(handler.on_event(received(decided(plan, "expired", by="policy")))) == [
        "skipped"
    ]
    assert kube.restarts == []


def test_unconfigured_systems_and_unknown_actions_fail_clearly() -> None:
    handler, _ = setup()
    out = handler.on_event(received(planned("p1", "argocd_rollback", {"application": "web"})))
    assert statuses(out) == ["failed"] and "ARGOCD_URL" in out[0].event.detail
    out = handler.on_event(received(planned("p2", "reboot_the_world", {})))
    assert statuses(out) == ["failed"] and "unknown action" in out[0].event.detail


def test_a_silence_for_a_resolved_incident_is_not_created() -> None:
    handler = ExecutionHandler(
        MemoryStateStore(), Executors(None, None, object()), clock=lambda: T0
    )  # type: ignore[arg-type]
    handler.on_event(received(resolved("inc-1")))
    out = handler.on_event(received(planned("p1", "am_silence", {}, {"matchers": "[]"})))
    assert statuses(out) == ["skipped"]


def test_a_plan_nobody_approves_expires_after_a_grace_period_even_across_a_restart() -> None:
    handler, kube = setup()
    plan = planned(
        "p1", "k8s_restart", TARGET, gate="needs_approval", expires_in=timedelta(minutes=5)
    )
    handler.on_event(received(plan))
    expiry = T0 + timedelta(minutes=5)
    assert handler.tick(expiry + timedelta(seconds=30)) == []  # an approval may be in flight
    restarted = ExecutionHandler(handler.store, handler.executors, clock=lambda: T0)
    out = restarted.tick(expiry + timedelta(seconds=61))
    [decision, skipped] = [o.event for o in out]
    assert isinstance(decision, RemediationDecided)
    assert (decision.decision, decision.decided_by, decision.plan_id) == ("expired", "policy", "p1")
    assert isinstance(skipped, RemediationExecuted) and skipped.status == "skipped"
    assert restarted.tick(expiry + timedelta(minutes=5)) == []
    late = restarted.on_event(received(decided(plan, at=expiry - timedelta(seconds=1))))
    assert late == []  # the first decision (expired) counts
    assert kube.restarts == []


def test_a_decided_plan_does_not_expire() -> None:
    handler, kube = setup()
    plan = planned(
        "p1", "k8s_restart", TARGET, gate="needs_approval", expires_in=timedelta(minutes=5)
    )
    handler.tick(T0)
    handler.on_event(received(plan))
    handler.on_event(received(decided(plan)))
    assert handler.tick(T0 + timedelta(hours=1)) == []
    assert kube.restarts == ["p1"]
