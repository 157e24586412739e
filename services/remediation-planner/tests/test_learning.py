"""Verification after an action, and learning from its outcome (Beta prior) to rank plans."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cc.events import RemediationPlanned, RemediationVerified
from cc.kafka import Outgoing
from cc.kafka.state import MemoryStateStore
from cc.testing.events import T0, received
from cc.testing.incidents import anomaly_of, deployed, executed, firing, place_labels
from remediation_planner.domain.learning import Outcomes, Prior, Tally, explain, posterior_mean
from remediation_planner.domain.planning import rank
from remediation_planner.domain.runbooks import Candidate
from remediation_planner.handlers import PLANNED, VERIFIED, Planner, Stores

MakePlanner = Callable[..., Planner]
CART = place_labels("cart", "ns-staging", "staging")
PERIOD = timedelta(minutes=10)


def candidate(action: str, prior: Prior, order: int) -> Candidate:
    return Candidate(action, {}, {}, prior, "rb", order, 1)


def test_posterior_mean_of_nine_of_ten_with_a_flat_prior() -> None:
    tally = Tally(successes=9, trials=10)
    assert round(posterior_mean(tally, Prior()), 2) == 0.83
    assert explain("argocd_rollback", tally, Prior()) == (
        "argocd_rollback resolved 9 of 10 similar incidents for this service (posterior 0.83)"
    )


def test_one_lucky_run_does_not_beat_a_well_founded_prior() -> None:
    outcomes = Outcomes()
    outcomes.add("e1", "sig", "k8s_restart", success=True)
    ranked = rank(
        [
            candidate("argocd_rollback", Prior(3, 1), 0),
            candidate("k8s_restart", Prior(1, 2), 1),
        ],
        outcomes,
        "sig",
    )
    assert [c.action for c in ranked] == ["argocd_rollback", "k8s_restart"]


def test_a_record_of_failures_demotes_an_action() -> None:
    outcomes = Outcomes()
    for i in range(6):
        outcomes.add(f"e{i}", "sig", "argocd_rollback", success=False)
    ranked = rank(
        [candidate("argocd_rollback", Prior(3, 1), 0), candidate("k8s_restart", Prior(1, 2), 1)],
        outcomes,
        "sig",
    )
    assert ranked[0].action == "k8s_restart"  # prior 1/3 beats 3/10 after six failures


def test_an_outcome_counts_once_per_execution() -> None:
    outcomes = Outcomes()
    assert outcomes.add("e1", "sig", "a", success=True)
    assert not outcomes.add("e1", "sig", "a", success=True)
    assert outcomes.tally("sig", "a") == Tally(1, 1)


def incident_with_rollback(planner: Planner, at: datetime, fps: list[str]) -> RemediationPlanned:
    rev = f"bad-{at.minute}"
    planner.on_batch([received(deployed("cart", rev, namespace="ns-staging", at=at))])
    out: list[Outgoing] = []
    for fp in fps:
        out += planner.on_batch([received(firing(fp, CART, at=at + timedelta(seconds=20)))])
        out += planner.on_batch([received(anomaly_of([fp], CART, at=at + timedelta(seconds=20)))])
    [plan] = [o.event for o in out if o.topic == PLANNED]
    assert isinstance(plan, RemediationPlanned)
    return plan


def verify(
    planner: Planner, plan: RemediationPlanned, at: datetime, *, resolved: list[str]
) -> RemediationVerified:
    """Execute the plan at `at`, resolve these alerts a minute later, verify after the period."""
    planner.on_batch([received(executed(plan.plan_id, plan.incident_id, plan.action, at=at))])
    resolve(planner, resolved, at + timedelta(minutes=1))
    assert not [o for o in planner.tick(at + PERIOD - timedelta(seconds=1)) if o.topic == VERIFIED]
    [verified] = [o.event for o in planner.tick(at + PERIOD) if o.topic == VERIFIED]
    assert isinstance(verified, RemediationVerified)
    planner.on_batch([received(verified)])  # the planner learns from its own topic
    return verified


def resolve(planner: Planner, fps: list[str], at: datetime) -> None:
    planner.on_batch([received(firing(fp, CART, at=at, status="resolved")) for fp in fps])


def test_resolved_after_the_action_teaches_the_next_plan(make_planner: MakePlanner) -> None:
    planner = make_planner()
    first = incident_with_rollback(planner, T0, ["a", "b"])
    assert "no verified outcome yet" in first.rationale
    verified = verify(planner, first, T0 + timedelta(minutes=1), resolved=["a", "b"])
    assert verified.outcome == "resolved"
    assert verified.evidence["firing_before"] == "2" and verified.evidence["firing_after"] == "0"
    second = incident_with_rollback(planner, T0 + timedelta(hours=1), ["c"])
    assert second.action == "argocd_rollback"
    assert (
        "argocd_rollback resolved 1 of 1 similar incidents for this service (posterior 0.80)"
        in second.rationale
    )


def test_still_firing_is_not_resolved_and_the_next_candidate_is_proposed(
    make_planner: MakePlanner,
) -> None:
    planner = make_planner()
    plan = incident_with_rollback(planner, T0, ["a"])
    at = T0 + timedelta(minutes=1)
    planner.on_batch([received(executed(plan.plan_id, plan.incident_id, plan.action, at=at))])
    out = planner.tick(at + PERIOD)
    [verified] = [o.event for o in out if o.topic == VERIFIED]
    assert verified.outcome == "not_resolved"
    [next_plan] = [o.event for o in out if o.topic == PLANNED]
    assert next_plan.action == "k8s_restart" and next_plan.plan_id != plan.plan_id


def test_more_alerts_after_the_action_is_a_regression(make_planner: MakePlanner) -> None:
    planner = make_planner()
    plan = incident_with_rollback(planner, T0, ["a"])
    at = T0 + timedelta(minutes=1)
    planner.on_batch([received(executed(plan.plan_id, plan.incident_id, plan.action, at=at))])
    planner.on_batch([received(firing("worse", CART, at=at + timedelta(minutes=1)))])
    [verified] = [o.event for o in planner.tick(at + PERIOD) if o.topic == VERIFIED]
    assert verified.outcome == "regressed" and verified.evidence["new_alerts"] == "1"


def test_failed_or_skipped_executions_are_not_verified(make_planner: MakePlanner) -> None:
    planner = make_planner()
    plan = incident_with_rollback(planner, T0, ["a"])
    for status in ("failed", "skipped"):
        event = executed(plan.plan_id, plan.incident_id, plan.action, at=T0, status=status)
        planner.on_batch([received(event)])
    assert planner.watches == {}


def test_learning_and_watches_are_rebuilt_after_a_restart(make_planner: MakePlanner) -> None:
    stores = Stores(MemoryStateStore(), MemoryStateStore(), MemoryStateStore())
    planner = make_planner(stores)
    first = incident_with_rollback(planner, T0, ["a"])
    verify(planner, first, T0 + timedelta(minutes=1), resolved=["a"])
    other = incident_with_rollback(planner, T0 + timedelta(hours=1), ["b"])
    at = T0 + timedelta(hours=1, minutes=1)
    planner.on_batch([received(executed(other.plan_id, other.incident_id, other.action, at=at))])

    restarted = make_planner(stores)
    assert (
        restarted.outcomes.tally("prod-1/ns-staging/cart|suspect-deploy", "argocd_rollback").trials
        == 1
    )
    [verified] = [o.event for o in restarted.tick(at + PERIOD) if o.topic == VERIFIED]
    assert verified.plan_id == other.plan_id
