"""Routing rules: each condition, quiet hours in their time zone, and readable file errors."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from notifier.adapters.routing_file import RoutingFileError, load_routing
from notifier.domain.routing import Criteria, Destination, Facts, QuietWindow, Routing, Rule

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "notifier" / "routing.example.yaml"
NOON_UTC = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
PARIS = ZoneInfo("Europe/Paris")


def routing(*rules: Rule, **destinations: Destination) -> Routing:
    names = {d for r in rules for d in r.to} | {"compliance"}
    all_destinations = {n: Destination(n, "slack", "X") for n in names}
    all_destinations.update(destinations)
    return Routing(all_destinations, rules, compliance_destination="compliance")


def facts(kind: str = "incident_opened", severity: str = "high", **more: str) -> Facts:
    return Facts(kind=kind, severity=severity, **more)


@pytest.mark.parametrize(
    ("when", "matching", "other"),
    [
        (Criteria(severities=frozenset({"critical"})), {"severity": "critical"}, {}),
        (
            Criteria(environments=frozenset({"prod"})),
            {"environment": "prod"},
            {"environment": "dev"},
        ),
        (Criteria(namespaces=frozenset({"shop"})), {"namespace": "shop"}, {"namespace": "kube"}),
        (Criteria(teams=frozenset({"payments"})), {"team": "payments"}, {"team": ""}),
        (Criteria(kinds=frozenset({"incident_resolved"})), {"kind": "incident_resolved"}, {}),
    ],
)
def test_each_rule_condition_selects_its_destination(
    when: Criteria, matching: dict[str, str], other: dict[str, str]
) -> None:
    table = routing(Rule("r", when, ("a",)))
    assert table.match(facts(**matching), NOON_UTC) == ["a"]
    assert table.match(facts(**other), NOON_UTC) == []


def test_every_matching_rule_adds_its_destinations_once() -> None:
    table = routing(
        Rule("all", Criteria(), ("a", "b")),
        Rule("prod", Criteria(environments=frozenset({"prod"})), ("b", "c")),
    )
    assert table.match(facts(environment="prod"), NOON_UTC) == ["a", "b", "c"]


def test_a_violation_goes_to_the_compliance_destination() -> None:
    table = routing(Rule("incidents", Criteria(kinds=frozenset({"incident_opened"})), ("a",)))
    assert table.match(facts("violation", "medium"), NOON_UTC) == ["compliance"]


def test_a_page_only_for_the_severities_that_warrant_one() -> None:
    pager = Destination("pager", "pagerduty", "KEY", severities=frozenset({"critical"}))
    table = routing(Rule("all", Criteria(), ("pager", "a")), pager=pager)
    assert table.match(facts(severity="critical"), NOON_UTC) == ["pager", "a"]
    assert table.match(facts(severity="warning"), NOON_UTC) == ["a"]


def night(days: set[int]) -> QuietWindow:
    return QuietWindow(frozenset(days), time(22, 0), time(7, 0), PARIS)


def test_quiet_hours_drop_non_critical_but_let_critical_through() -> None:
    quiet = Destination("a", "slack", "X", quiet_hours=(night({2}),))
    table = routing(Rule("all", Criteria(), ("a",)), a=quiet)
    at_23_paris = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # Wednesday 23:00 in Paris
    decision = table.route(facts(severity="warning"), at_23_paris)
    assert decision.send == () and decision.dropped == (("a", "quiet hours"),)
    assert table.match(facts(severity="critical"), at_23_paris) == ["a"]


def test_quiet_hours_are_read_in_the_windows_time_zone() -> None:
    window = night({2})
    assert window.contains(datetime(2026, 11, 25, 21, 30, tzinfo=UTC))  # 22:30 Paris
    assert not window.contains(datetime(2026, 11, 25, 20, 30, tzinfo=UTC))  # 21:30 Paris
    summer = QuietWindow(frozenset({2}), time(22, 0), time(23, 0), PARIS)
    assert summer.contains(datetime(2026, 7, 15, 20, 30, tzinfo=UTC))  # 22:30 CEST (UTC+2)


def test_a_window_crossing_midnight_covers_the_next_mornings_early_hours() -> None:
    window = night({2})  # starts Wednesday 22:00, ends Thursday 07:00
    assert window.contains(datetime(2026, 11, 26, 5, 0, tzinfo=UTC))  # Thursday 06:00 Paris
    assert not window.contains(datetime(2026, 11, 26, 6, 30, tzinfo=UTC))  # Thursday 07:30
    assert not window.contains(datetime(2026, 11, 25, 5, 0, tzinfo=UTC))  # Wednesday 06:00


def test_rules_naming_an_unknown_destination_are_refused() -> None:
    with pytest.raises(ValueError, match="nowhere"):
        Routing({}, (Rule("r", Criteria(), ("nowhere",)),))


def test_the_example_file_loads() -> None:
    table = load_routing(EXAMPLE)
    assert table.destinations["oncall-pager"].rate_per_s == 2
    assert table.match(facts(severity="critical", environment="prod"), NOON_UTC) == [
        "incidents-slack",
        "incidents-thread",
        "oncall-pager",
    ]
    assert table.match(facts("violation", "low"), NOON_UTC) == ["compliance-teams"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(RoutingFileError) as caught:
        load_routing(path)
    return caught.value.problems


def test_a_wrong_value_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "destinations:\n"
        "  a:\n"
        "    type: slack\n"
        "    settings: X\n"
        "rules:\n"
        "  - name: r\n"
        "    when:\n"
        "      severities: [critical, urgent]\n"
        "    to: [a]\n",
    )
    [problem] = problems(path)
    assert problem.startswith(f"{path}:8: rules[0].when.severities[1]: ")


def test_an_unknown_destination_and_type_are_reported_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "destinations:\n  a:\n    type: sms\n    settings: X\nrules: []\n",
    )
    assert problems(path)[0].startswith(f"{path}:3: destinations.a.type: ")
    path = write(
        tmp_path,
        "destinations:\n  a: {type: slack, settings: X}\n"
        "compliance_destination: b\nrules:\n  - name: r\n    to: [a, c]\n",
    )
    assert problems(path) == [
        f"{path}:6: rules[0].to[1]: no destination named 'c'",
        f"{path}:3: compliance_destination: no destination named 'b'",
    ]


def test_unquoted_times_and_unknown_time_zones_are_explained(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "destinations:\n"
        "  a:\n"
        "    type: slack\n"
        "    settings: X\n"
        "    quiet_hours:\n"
        "      time_zone: Mars/Olympus\n"
        "      windows:\n"
        "        - {start: 22:00, end: '07:00'}\n",
    )
    found = problems(path)
    assert any(p.startswith(f"{path}:6: destinations.a.quiet_hours.time_zone: ") for p in found)
    assert any(
        p.startswith(f"{path}:8: destinations.a.quiet_hours.windows[0].start: ") and "quoted" in p
        for p in found
    )


def test_a_missing_field_and_a_typo_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "destinations:\n  a:\n    type: slack\n    setings: X\n")
    found = problems(path)
    assert f"{path}:2: destinations.a.settings: Field required" in found
    assert any(p.startswith(f"{path}:4: destinations.a.setings: ") for p in found)


def test_broken_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "destinations:\n  a: [\n")
    assert problems(path)[0].startswith(f"{path}:3: (yaml): ")
