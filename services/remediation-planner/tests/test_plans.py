"""What a plan says: the action, its parameters, the gate and its rule, and why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from cc.events import IncidentOpened, RemediationPlanned
from cc.testing.events import T0, anomaly, received
from cc.testing.incidents import anomaly_of, deployed, place_labels
from remediation_planner.domain.policy import Policy, Rule
from remediation_planner.handlers import OPENED, PLANNED, Planner

MakePlanner = Callable[..., Planner]


def test_one_firing_alert_gives_one_incident_and_one_plan(make_planner: MakePlanner) -> None:
    out = make_planner().on_batch([received(anomaly("44ff802e930efd3f"))])
    assert [o.topic for o in out] == [OPENED, PLANNED]
    opened, plan = out[0].event, out[1].event
    assert isinstance(opened, IncidentOpened) and isinstance(plan, RemediationPlanned)
    assert plan.incident_id == opened.incident_id == opened.metadata.incident_id
    assert opened.member_fingerprints == ["44ff802e930efd3f"]
    assert (plan.action, plan.gate, plan.gate_rule) == (
        "am_silence",
        "needs_approval",
        "default-needs-approval",
    )
    assert plan.proposer == "remediation-planner"
    assert plan.metadata.causation_id == out[0].event.metadata.causation_id  # same cause


def test_a_rollback_plan_says_auto_sync_stays_off(make_planner: MakePlanner) -> None:
    planner = make_planner()
    planner.on_batch([received(deployed("web", "bad42", at=T0 - timedelta(minutes=4)))])
    out = planner.on_batch([received(anomaly_of(["a"], place_labels("web", "shop", "prod")))])
    [plan] = [o.event for o in out if o.topic == PLANNED]
    assert plan.action == "argocd_rollback"
    assert plan.target["application"] == "web"
    assert plan.parameters["suspect_revision"] == "bad42"
    assert plan.parameters["restore_auto_sync"] == "false"
    assert "left off" in plan.rationale and "Suspect change: web at bad42" in plan.rationale
    assert "no verified outcome yet" in plan.rationale


def test_a_forbidden_best_candidate_gives_way_to_the_next(make_planner: MakePlanner) -> None:
    planner = make_planner()
    planner.policy = Policy(
        rules=(Rule("no-rollbacks", "forbidden", actions=frozenset({"argocd_rollback"})),),
        default=Rule("rest-auto", "auto"),
    )
    planner.on_batch([received(deployed("web", "bad42"))])
    out = planner.on_batch([received(anomaly_of(["a"], place_labels("web", "shop", "prod")))])
    [plan] = [o.event for o in out if o.topic == PLANNED]
    assert plan.action != "argocd_rollback" and plan.gate == "auto"
    assert "Forbidden by policy, not proposed: argocd_rollback (no-rollbacks)" in plan.rationale


def test_when_everything_is_forbidden_the_plan_says_so_and_is_not_automatic(
    make_planner: MakePlanner,
) -> None:
    planner = make_planner()
    planner.policy = Policy(rules=(), default=Rule("nothing-allowed", "forbidden"))
    out = planner.on_batch([received(anomaly_of(["a"], place_labels("web", "shop", "staging")))])
    [plan] = [o.event for o in out if o.topic == PLANNED]
    assert (plan.gate, plan.gate_rule, plan.expires_at) == ("forbidden", "nothing-allowed", None)
