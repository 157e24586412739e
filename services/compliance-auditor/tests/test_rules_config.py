"""The rules file: the shipped one loads; mistakes are reported with file, line and field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cc.kafka.state import MemoryStateStore
from cc.testing.events import received
from compliance_auditor.kpis.synthetic import History
from compliance_auditor.rules.config import RulesFileError, load_rules
from compliance_auditor.rules.engine import RuleEngine
from compliance_auditor.rules.loop import VIOLATIONS_TOPIC, RulesHandler

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "compliance-auditor" / "rules.yaml"


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    return caught.value.problems


def test_the_shipped_rules_load_with_their_windows_and_deadlines() -> None:
    config = load_rules(SHIPPED)
    assert [w.name for w in config.change_windows] == ["weekday-daytime", "friday-morning"]
    assert config.rule("incident-not-acknowledged").within == timedelta(minutes=15)
    assert config.is_production("Production")
    assert config.environment_of({"cluster": "https://prod-eu"}) == "production"


def test_an_unknown_time_zone_names_its_line_and_field(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "version: 1\nchange_windows:\n  - name: w\n    timezone: Mars/Olympus\n"
        "    days: [mon]\n    start: '09:00'\n    end: '17:00'\n",
    )
    assert found == [
        f"{tmp_path / 'rules.yaml'}:4: change_windows[0].timezone: "
        "Value error, unknown time zone 'Mars/Olympus'"
    ]


def test_an_unquoted_time_and_an_unknown_day_are_both_reported(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "freezes:\n  - name: f\n    days: [someday]\n    start: 22:00\n    end: '23:00'\n",
    )
    assert any(
        p.endswith(
            "freezes[0].days[0]: Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'"
        )
        and ":3:" in p
        for p in found
    )
    assert any(":4: freezes[0].start:" in p and "quote times" in p for p in found)


def test_an_unknown_rule_and_a_timed_rule_without_deadline_are_reported(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "rules:\n  deploy-on-friday: {severity: low}\n"
        "  incident-not-resolved:\n    severity: high\n",
    )
    assert found[0].startswith(f"{tmp_path / 'rules.yaml'}:2: rules.deploy-on-friday: unknown rule")
    assert (
        found[1] == f"{tmp_path / 'rules.yaml'}:3: rules.incident-not-resolved.within: "
        "this rule needs within"
    )


def test_a_bad_duration_and_a_backwards_freeze_are_reported(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "settle: 5 minutes\nfreezes:\n  - name: f\n    start: '2026-12-24T00:00'\n"
        "    end: '2026-12-20T00:00'\n",
    )
    assert any(p.split(": ", 2)[1] == "settle" and ":1:" in p for p in found)
    assert any(":3: freezes[0]:" in p and "start must be before end" in p for p in found)


def test_broken_yaml_names_its_line(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "rules:\n  a: [1, 2\n")
    assert found[0].startswith(f"{tmp_path / 'rules.yaml'}:3: (yaml):")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_handler_publishes_violations_with_ids_that_replays_repeat() -> None:
    h = History()
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    deploy = h.deploy("shop", "b2", saturday)
    handler = RulesHandler(RuleEngine(load_rules(SHIPPED), MemoryStateStore()))
    [out] = handler.on_event(received(deploy))
    again = RulesHandler(RuleEngine(load_rules(SHIPPED), MemoryStateStore()))
    [repeat] = again.on_event(received(deploy))
    assert out.topic == VIOLATIONS_TOPIC and out.key == "deploy-outside-change-window"
    assert out.event.metadata.event_id == repeat.event.metadata.event_id
    assert out.event.evidence_event_ids == [deploy.metadata.event_id]  # type: ignore[attr-defined]
    assert out.event.metadata.occurred_at == deploy.started_at


def test_while_events_flow_deadlines_follow_event_time_and_when_idle_the_wall_clock() -> None:
    h = History()
    opened_at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    h.incident("inc-1", opened_at, service="shop")
    clock = Clock()
    handler = RulesHandler(
        RuleEngine(load_rules(SHIPPED), MemoryStateStore()), idle_after=5.0, monotonic=clock
    )
    handler.on_event(received(h.events[0]))
    wall = opened_at + timedelta(hours=6)
    assert handler.tick(wall) == []  # a backlog: the acknowledgement may be next in line
    clock.now = 6.0
    fired = sorted(o.event.rule_id for o in handler.tick(wall))  # type: ignore[attr-defined]
    assert fired == ["incident-not-acknowledged", "incident-not-resolved"]


def test_a_backlog_on_another_topic_holds_the_deadline_clock_back() -> None:
    h = History()
    opened_at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    opened = h.incident("inc-2", opened_at, service="shop")
    resolved = h.resolved(opened, opened_at + timedelta(minutes=30))
    older = h.deploy("cart", "c1", opened_at - timedelta(hours=1))
    ack = h.planned(
        "p2", "inc-2", opened_at + timedelta(minutes=3), service="shop", proposer="erin"
    )
    clock = Clock()
    handler = RulesHandler(
        RuleEngine(load_rules(SHIPPED), MemoryStateStore()), idle_after=5.0, monotonic=clock
    )
    handler.on_event(received(opened, topic="incidents"))
    handler.on_event(received(resolved, topic="incidents"))
    handler.on_event(received(older, topic="remediation"))  # that topic is still catching up
    assert handler.clock(opened_at + timedelta(hours=6)) == older.metadata.occurred_at
    assert handler.tick(opened_at + timedelta(hours=6)) == []
    handler.on_event(received(ack, topic="remediation"))
    clock.now = 10.0
    assert handler.tick(opened_at + timedelta(hours=6)) == []  # acknowledged in time


def test_right_after_a_restart_no_deadline_is_judged_before_the_backlog_could_arrive() -> None:
    h = History()
    opened_at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    opened = h.incident("inc-3", opened_at, service="shop")
    ack = h.planned(
        "p3", "inc-3", opened_at + timedelta(minutes=3), service="shop", proposer="erin"
    )
    state = MemoryStateStore()
    RuleEngine(load_rules(SHIPPED), state).on_event(opened)  # before the restart
    clock = Clock()
    restarted = RulesHandler(
        RuleEngine(load_rules(SHIPPED), MemoryStateStore(dict(state.items()))),
        idle_after=5.0,
        monotonic=clock,
    )
    wall = opened_at + timedelta(hours=6)
    clock.now = 1.0  # joining the group: the acknowledgement is still in the backlog
    assert restarted.clock(wall) is None
    assert restarted.tick(wall) == []
    restarted.on_event(received(ack, topic="remediation"))
    clock.now = 10.0
    fired = [o.event.rule_id for o in restarted.tick(wall)]  # type: ignore[attr-defined]
    assert fired == ["incident-not-resolved"]  # acknowledged in time, never resolved
