"""Compliance rules over synthetic histories: each violation, and the compliant case."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cc.events import Event
from cc.kafka.state import MemoryStateStore
from compliance_auditor.kpis.synthetic import History
from compliance_auditor.rules.cases import Violation
from compliance_auditor.rules.config import load_rules
from compliance_auditor.rules.engine import RuleEngine
from compliance_auditor.rules.model import RulesConfig

RULES = Path(__file__).resolve().parents[3] / "deploy" / "compliance-auditor" / "rules.yaml"
# Tuesday 24 Nov 2026, 10:00 in Berlin: inside the weekday window of the shipped rules
IN_WINDOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
IN_FREEZE = datetime(2026, 12, 22, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 Berlin, year-end freeze
LATER = timedelta(days=2)


@pytest.fixture(scope="module")
def config() -> RulesConfig:
    return load_rules(RULES)


def run(
    config: RulesConfig,
    events: Iterable[Event],
    *,
    clock: datetime | None = None,
    state: MemoryStateStore | None = None,
) -> list[Violation]:
    engine = RuleEngine(config, state if state is not None else MemoryStateStore())
    found: list[Violation] = []
    for event in events:
        found += engine.on_event(event)
    if clock is not None:
        found += engine.on_clock(clock)
    return found


def rules_of(found: list[Violation]) -> list[str]:
    return sorted(v.rule_id for v in found)


def compliant_history() -> History:
    h = History("compliant")
    h.deploy("shop", "a1", IN_WINDOW, commit_time=IN_WINDOW - timedelta(hours=3))
    opened = h.incident("inc-1", IN_WINDOW + timedelta(minutes=5), service="shop")
    plan = h.planned(
        "p1", "inc-1", opened.metadata.occurred_at, service="shop", gate="needs_approval"
    )
    h.decided(plan, opened.metadata.occurred_at + timedelta(minutes=4), by="bob")
    h.executed(plan, opened.metadata.occurred_at + timedelta(minutes=5))
    h.resolved(opened, opened.metadata.occurred_at + timedelta(minutes=40))
    failed = IN_WINDOW + timedelta(hours=2)
    h.deploy("cart", "c1", failed, trigger="on-sync-failed", phase="Failed", health="Degraded")
    h.deploy("cart", "c2", failed + timedelta(minutes=10))
    h.deploy("dev-tool", "d1", SATURDAY, environment="dev")  # not production: any time
    return h


def test_a_compliant_history_raises_nothing_even_long_after(config: RulesConfig) -> None:
    assert run(config, compliant_history().events, clock=IN_WINDOW + LATER) == []


def test_a_production_deploy_on_saturday_is_outside_every_window(config: RulesConfig) -> None:
    h = History()
    running = h.deploy("shop", "b2", SATURDAY, trigger="on-sync-running")
    deployed = h.deploy("shop", "b2", SATURDAY + timedelta(minutes=2))
    object.__setattr__(deployed, "started_at", running.started_at)  # the same sync operation
    found = run(config, h.events)
    assert rules_of(found) == ["deploy-outside-change-window"]  # one violation for one deploy
    assert found[0].evidence == (running.metadata.event_id,)
    assert found[0].environment == "production"
    assert found[0].service == "shop"


def test_a_deploy_in_the_year_end_freeze_is_a_freeze_violation(config: RulesConfig) -> None:
    h = History()
    deploy = h.deploy("shop", "f1", IN_FREEZE, initiator="dave")
    found = run(config, h.events)
    assert rules_of(found) == ["deploy-during-freeze"]
    assert "year-end" in found[0].description and "dave" in found[0].description
    assert found[0].evidence == (deploy.metadata.event_id,)


def test_a_window_crossing_midnight_in_its_own_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "change_windows:\n"
        "  - {name: night, timezone: America/New_York, days: [sat], start: '22:00', end: '02:00'}\n"
    )
    config = load_rules(path)
    sunday_0130_ny = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)
    sunday_0230_ny = datetime(2026, 11, 29, 7, 30, tzinfo=UTC)
    assert config.window_of(sunday_0130_ny) is not None
    assert config.window_of(sunday_0230_ny) is None


def test_an_unapproved_execution_is_judged_once_the_approval_could_have_arrived(
    config: RulesConfig,
) -> None:
    h = History()
    plan = h.planned("p2", "inc-2", IN_WINDOW, service="shop", gate="needs_approval")
    done = h.executed(plan, IN_WINDOW + timedelta(minutes=1))
    state = MemoryStateStore()
    assert run(config, h.events, clock=IN_WINDOW + timedelta(minutes=2), state=state) == []
    found = run(config, [], clock=IN_WINDOW + timedelta(minutes=4), state=state)
    assert rules_of(found) == ["remediation-without-approval"]
    assert found[0].evidence == (plan.metadata.event_id, done.metadata.event_id)
    assert found[0].incident_id == "inc-2"


def test_an_approval_that_arrives_after_the_execution_but_was_given_before_counts(
    config: RulesConfig,
) -> None:
    h = History()
    plan = h.planned("p3", "inc-3", IN_WINDOW, service="shop", gate="needs_approval")
    h.executed(plan, IN_WINDOW + timedelta(minutes=2))
    h.decided(plan, IN_WINDOW + timedelta(minutes=1), by="bob")  # other topic, read later
    assert run(config, h.events, clock=IN_WINDOW + LATER) == []


def test_an_approval_given_after_the_execution_does_not_count(config: RulesConfig) -> None:
    h = History()
    plan = h.planned("p4", "inc-4", IN_WINDOW, service="shop", gate="needs_approval")
    h.executed(plan, IN_WINDOW + timedelta(minutes=1))
    h.decided(plan, IN_WINDOW + timedelta(minutes=3), by="bob")
    assert rules_of(run(config, h.events, clock=IN_WINDOW + LATER)) == [
        "remediation-without-approval"
    ]


def test_a_forbidden_plan_executed_is_a_violation_and_a_skipped_one_is_not(
    config: RulesConfig,
) -> None:
    h = History()
    forbidden = h.planned("p5", "inc-5", IN_WINDOW, service="db", gate="forbidden")
    h.executed(forbidden, IN_WINDOW + timedelta(minutes=1))
    skipped = h.planned("p6", "inc-5", IN_WINDOW, service="db", gate="forbidden")
    h.executed(skipped, IN_WINDOW + timedelta(minutes=1), status="skipped")
    found = run(config, h.events)
    assert rules_of(found) == ["remediation-without-approval"]
    assert "forbids" in found[0].description


def test_an_automatic_plan_needs_no_approval(config: RulesConfig) -> None:
    h = History()
    plan = h.planned("p7", "inc-7", IN_WINDOW, service="shop", gate="auto")
    h.executed(plan, IN_WINDOW + timedelta(minutes=1))
    assert run(config, h.events, clock=IN_WINDOW + LATER) == []


@pytest.mark.parametrize("decision_first", [False, True])
def test_the_proposer_approving_their_own_plan_breaks_four_eyes(
    config: RulesConfig, decision_first: bool
) -> None:
    h = History()
    plan = h.planned(
        "p8", "inc-8", IN_WINDOW, service="shop", gate="needs_approval", proposer="carol"
    )
    decision = h.decided(plan, IN_WINDOW + timedelta(minutes=1), by="Carol")
    events: list[Event] = [decision, plan] if decision_first else [plan, decision]
    found = run(config, events)
    assert rules_of(found) == ["approval-by-proposer"]
    assert found[0].evidence == (plan.metadata.event_id, decision.metadata.event_id)


def test_another_person_approving_is_four_eyes(config: RulesConfig) -> None:
    h = History()
    plan = h.planned(
        "p9", "inc-9", IN_WINDOW, service="shop", gate="needs_approval", proposer="carol"
    )
    h.decided(plan, IN_WINDOW + timedelta(minutes=1), by="bob")
    h.executed(plan, IN_WINDOW + timedelta(minutes=2))
    assert run(config, h.events, clock=IN_WINDOW + timedelta(minutes=5)) == []


def test_a_critical_incident_nobody_acknowledges_is_reported_at_its_deadline(
    config: RulesConfig,
) -> None:
    h = History()
    opened = h.incident("inc-10", IN_WINDOW, service="shop")
    plan = h.planned("p10", "inc-10", IN_WINDOW, service="shop", gate="needs_approval")
    h.decided(plan, IN_WINDOW + timedelta(minutes=1), by="policy", decision="expired")
    state = MemoryStateStore()
    assert run(config, h.events, clock=IN_WINDOW + timedelta(minutes=16), state=state) == []
    found = run(config, [], clock=IN_WINDOW + timedelta(minutes=18), state=state)
    assert rules_of(found) == ["incident-not-acknowledged"]
    assert found[0].at == IN_WINDOW + timedelta(minutes=15)
    assert found[0].evidence == (opened.metadata.event_id,)


def test_a_late_acknowledgement_is_a_violation_naming_both_records(config: RulesConfig) -> None:
    h = History()
    opened = h.incident("inc-11", IN_WINDOW, service="shop")
    plan = h.planned("p11", "inc-11", IN_WINDOW, service="shop", gate="needs_approval")
    late = h.decided(plan, IN_WINDOW + timedelta(minutes=20), by="bob", decision="rejected")
    found = run(config, h.events)
    assert rules_of(found) == ["incident-not-acknowledged"]
    assert found[0].evidence == (opened.metadata.event_id, late.metadata.event_id)


def test_a_person_proposing_a_plan_acknowledges_and_warnings_need_nothing(
    config: RulesConfig,
) -> None:
    h = History()
    h.incident("inc-12", IN_WINDOW, service="shop")
    h.planned(
        "p12",
        "inc-12",
        IN_WINDOW + timedelta(minutes=3),
        service="shop",
        gate="needs_approval",
        proposer="erin",
    )
    h.incident("inc-13", IN_WINDOW, service="shop", severity="warning")
    found = run(config, h.events, clock=IN_WINDOW + timedelta(hours=1))
    assert found == []


def test_a_critical_incident_resolved_after_its_target_is_reported(config: RulesConfig) -> None:
    h = History()
    opened = h.incident("inc-14", IN_WINDOW, service="shop")
    plan = h.planned("p14", "inc-14", IN_WINDOW, service="shop", proposer="erin")
    resolved = h.resolved(opened, IN_WINDOW + timedelta(hours=5))
    found = run(config, h.events)
    assert rules_of(found) == ["incident-not-resolved"]
    assert found[0].evidence == (opened.metadata.event_id, resolved.metadata.event_id)
    assert plan.proposer == "erin"


def test_a_failed_sync_left_alone_is_reported_after_its_limit(config: RulesConfig) -> None:
    h = History()
    failed = h.deploy("cart", "c9", IN_WINDOW, trigger="on-sync-failed", phase="Failed")
    assert run(config, h.events, clock=IN_WINDOW + timedelta(minutes=31)) == []
    found = run(config, h.events, clock=IN_WINDOW + timedelta(minutes=33))
    assert rules_of(found) == ["failed-sync-unresolved"]
    assert found[0].evidence == (failed.metadata.event_id,)


def test_a_degraded_app_rolled_back_in_time_is_fine_and_one_fixed_late_is_not(
    config: RulesConfig,
) -> None:
    h = History()
    h.deploy("cart", "c9", IN_WINDOW, trigger="on-health-degraded", health="Degraded")
    plan = h.planned("p15", "inc-15", IN_WINDOW, service="cart", suspect_revision="c9")
    h.executed(plan, IN_WINDOW + timedelta(minutes=12))
    assert run(config, h.events, clock=IN_WINDOW + LATER) == []
    late = History("late")
    failed = late.deploy("cart", "c9", IN_WINDOW, trigger="on-sync-failed", phase="Failed")
    fixed = late.deploy("cart", "c10", IN_WINDOW + timedelta(minutes=45))
    found = run(config, late.events)
    assert rules_of(found) == ["failed-sync-unresolved"]
    assert found[0].evidence == (failed.metadata.event_id, fixed.metadata.event_id)


def test_a_replay_or_a_restart_on_the_same_state_publishes_nothing_twice(
    config: RulesConfig,
) -> None:
    h = History()
    h.deploy("shop", "b2", SATURDAY)
    h.incident("inc-16", IN_WINDOW, service="shop")
    state = MemoryStateStore()
    first = run(config, h.events, clock=IN_WINDOW + LATER, state=state)
    assert rules_of(first) == [
        "deploy-outside-change-window",
        "incident-not-acknowledged",
        "incident-not-resolved",
    ]
    restarted = MemoryStateStore(dict(state.items()))
    assert run(config, h.events, clock=IN_WINDOW + LATER, state=restarted) == []
    # a fresh state (another group) finds the same violations under the same ids
    again = run(config, h.events, clock=IN_WINDOW + LATER)
    assert {v.violation_id for v in again} == {v.violation_id for v in first}


def test_a_replayed_approval_or_execution_is_remembered_once(config: RulesConfig) -> None:
    h = History()
    plan = h.planned(
        "p17", "inc-17", IN_WINDOW, service="shop", gate="needs_approval", proposer="carol"
    )
    h.decided(plan, IN_WINDOW + timedelta(minutes=1), by="bob")
    h.executed(plan, IN_WINDOW + timedelta(minutes=2))
    state = MemoryStateStore()
    run(config, h.events, state=state)
    run(config, h.events, state=state)  # a replay
    case = json.loads(state.get("plan:p17") or b"{}")
    assert len(case["approvals"]) == 1 and len(case["executions"]) == 1


def test_finished_cases_are_forgotten_after_the_retention(config: RulesConfig) -> None:
    state = MemoryStateStore()
    run(config, compliant_history().events, clock=IN_WINDOW + LATER, state=state)
    assert any(True for _ in state.items())
    run(config, [], clock=IN_WINDOW + timedelta(days=40), state=state)
    assert list(state.items()) == []
