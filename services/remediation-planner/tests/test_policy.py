"""The policy gate: environments, forbidden actions, the hourly limit, freezes and time zones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cc.platform.yaml_file import YamlFileError
from cc.testing.events import T0, received
from cc.testing.incidents import anomaly_of, deployed, place_labels
from remediation_planner.adapters.policy_file import load_policy
from remediation_planner.domain.policy import AutomationLedger, Decision, Policy, decide
from remediation_planner.handlers import PLANNED, Planner

MakePlanner = Callable[..., Planner]
DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "remediation-planner"
SHIPPED = load_policy(DEPLOY / "policy.yaml")
THURSDAY_NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def gate(
    environment: str,
    action: str,
    *,
    radius: int = 1,
    at: datetime = THURSDAY_NOON,
    automatic: int = 0,
    policy: Policy = SHIPPED,
) -> Decision:
    return decide(
        policy,
        environment=environment,
        action=action,
        blast_radius=radius,
        at=at,
        automatic_last_hour=automatic,
        service="prod-1/shop/web",
    )


def test_prod_needs_approval() -> None:
    decision = gate("prod", "argocd_rollback")
    assert (decision.gate, decision.rule) == ("needs_approval", "prod-needs-approval")


def test_staging_runs_automatically() -> None:
    decision = gate("staging", "argocd_rollback")
    assert (decision.gate, decision.rule) == ("auto", "staging-automatic")


def test_blast_radius_decides_too() -> None:
    assert gate("staging", "k8s_scale", radius=5).gate == "auto"
    assert gate("staging", "k8s_scale", radius=6).gate == "needs_approval"
    assert gate("prod", "k8s_scale", radius=11).gate == "forbidden"


def test_a_forbidden_action_is_never_automatic() -> None:
    frozen = gate("prod", "k8s_scale", radius=50, at=datetime(2026, 11, 27, 17, tzinfo=UTC))
    limited = gate("prod", "k8s_scale", radius=50, automatic=99)
    assert frozen.gate == limited.gate == "forbidden"
    assert frozen.rule == "prod-never-scale-wide"


def test_unknown_environment_falls_to_the_default_rule() -> None:
    decision = gate("", "am_silence")
    assert (decision.gate, decision.rule) == ("needs_approval", "default-needs-approval")


def test_the_hourly_limit_holds() -> None:
    assert gate("staging", "k8s_restart", automatic=2).gate == "auto"
    limited = gate("staging", "k8s_restart", automatic=3)
    assert limited.gate == "needs_approval"
    assert limited.rule.startswith("rate-limit:")


def test_the_ledger_counts_the_last_hour_once_per_plan() -> None:
    ledger = AutomationLedger()
    for i in range(3):
        assert ledger.add("svc", f"p{i}", T0 + timedelta(minutes=i))
    assert not ledger.add("svc", "p0", T0)  # a replayed plan counts once
    assert ledger.count("svc", T0 + timedelta(minutes=10)) == 3
    assert ledger.count("svc", T0 + timedelta(minutes=61)) == 1
    assert ledger.count("other", T0) == 0


def test_a_freeze_pauses_automation() -> None:
    friday_evening_berlin = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 18:30 CET
    policy = Policy(
        rules=SHIPPED.rules,
        default=SHIPPED.default,
        windows=tuple(w for w in SHIPPED.windows if w.name != "prod-friday-evening-freeze")
        + tuple(
            type(w)(**{**w.__dict__, "environments": frozenset({"staging"})})
            for w in SHIPPED.windows
            if w.name == "prod-friday-evening-freeze"
        ),
        hourly_limit=3,
    )
    paused = gate("staging", "argocd_rollback", at=friday_evening_berlin, policy=policy)
    assert (paused.gate, paused.rule) == ("needs_approval", "freeze:prod-friday-evening-freeze")
    assert "pause" in paused.reason
    assert gate("staging", "argocd_rollback", policy=policy).gate == "auto"


def test_the_one_off_year_end_freeze_covers_every_environment() -> None:
    new_year = datetime(2026, 12, 31, 12, tzinfo=UTC)
    assert gate("staging", "k8s_restart", at=new_year).rule == "freeze:year-end-freeze"
    # the freeze starts at midnight Berlin time, which is 23:00 UTC the day before
    assert gate("staging", "k8s_restart", at=datetime(2026, 12, 20, 22, 59, tzinfo=UTC)).gate == (
        "auto"
    )
    assert gate("staging", "k8s_restart", at=datetime(2026, 12, 20, 23, 0, tzinfo=UTC)).gate == (
        "needs_approval"
    )


def test_recurring_windows_follow_their_time_zone() -> None:
    # staging maintenance 02:00-03:00 America/New_York: 07:00 UTC in winter, 06:00 UTC in summer
    winter_in = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    winter_out = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    summer_in = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    assert (
        gate("staging", "k8s_restart", at=winter_in).rule
        == "maintenance:staging-nightly-maintenance"
    )
    assert gate("staging", "k8s_restart", at=winter_out).gate == "auto"
    assert gate("staging", "k8s_restart", at=summer_in).gate == "needs_approval"


def test_a_window_ending_before_it_starts_crosses_midnight(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        """
rate_limit: {automatic_actions_per_service_per_hour: 3}
windows:
  - {name: night, type: freeze, time_zone: Asia/Tokyo, days: [mon], start: "22:00", end: "06:00"}
rules: [{name: all-auto, gate: auto}]
default: {name: d, gate: needs_approval}
"""
    )
    policy = load_policy(path)
    monday_23_tokyo = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    tuesday_05_tokyo = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    tuesday_07_tokyo = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert gate("x", "k8s_restart", at=monday_23_tokyo, policy=policy).rule == "freeze:night"
    assert gate("x", "k8s_restart", at=tuesday_05_tokyo, policy=policy).rule == "freeze:night"
    assert gate("x", "k8s_restart", at=tuesday_07_tokyo, policy=policy).gate == "auto"


def test_policy_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        """rate_limit:
  automatic_actions_per_service_per_hour: -1
windows:
  - name: w
    type: freeze
    time_zone: Mars/Olympus
    start: 22:00
    end: "23:00"
rules:
  - name: r
    gate: sometimes
default: {name: d, gate: auto}
"""
    )
    with pytest.raises(YamlFileError) as caught:
        load_policy(path)
    problems = "\n".join(caught.value.problems)
    assert f"{path}:2: rate_limit.automatic_actions_per_service_per_hour:" in problems
    assert f"{path}:6: windows[0].time_zone: Value error, unknown time zone" in problems
    assert f"{path}:7: windows[0].start:" in problems and "quoted 'HH:MM'" in problems
    assert f"{path}:11: rules[0].gate:" in problems


def test_plans_carry_the_gate_and_its_rule_end_to_end(make_planner: MakePlanner) -> None:
    """Prod rollback waits for approval (and expires); staging rollback runs automatically."""
    planner = make_planner()
    out = []
    for env, service in (("prod", "pay"), ("staging", "cart")):
        labels = place_labels(service, f"ns-{env}", env)
        planner.on_batch([received(deployed(service, "bad1", namespace=f"ns-{env}"))])
        out += [
            o for o in planner.on_batch([received(anomaly_of([env], labels))]) if o.topic == PLANNED
        ]
    prod, staging = (o.event for o in out)
    assert (prod.action, prod.gate, prod.gate_rule) == (
        "argocd_rollback",
        "needs_approval",
        "prod-needs-approval",
    )
    assert prod.expires_at == T0 + timedelta(hours=1)
    assert (staging.gate, staging.gate_rule, staging.expires_at) == (
        "auto",
        "staging-automatic",
        None,
    )


def test_the_fourth_automatic_plan_for_a_service_in_an_hour_waits(
    make_planner: MakePlanner,
) -> None:
    planner = make_planner()
    labels = place_labels("cart", "ns-staging", "staging")
    gates = []
    for i in range(5):
        at = T0 + timedelta(minutes=15 * i)  # a new deploy each time: a new incident each
        planner.on_batch([received(deployed("cart", f"rev{i}", namespace="ns-staging", at=at))])
        out = planner.on_batch(
            [received(anomaly_of([f"a{i}"], labels, at=at + timedelta(seconds=30)))]
        )
        gates += [o.event.gate for o in out if o.topic == PLANNED]
    # 0, 15, 30 min: automatic; 45: three in the last hour -> approval; 60: two in the hour
    assert gates == ["auto", "auto", "auto", "needs_approval", "auto"]
