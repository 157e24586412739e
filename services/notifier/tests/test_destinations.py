"""Routing reaches every destination type: PagerDuty pages once per incident, Teams gets cards."""

from __future__ import annotations

import dataclasses
import json
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cc.events import (
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    NotificationSent,
    Signature,
    SuspectDeployment,
    deterministic_id,
    new_metadata,
)
from cc.testing.events import T0, incident_opened, received
from cc.testing.fake_pagerduty import DEFAULT_ROUTING_KEY, validate_event
from cc.testing.fake_teams import validate_message
from notifier.adapters.routing_file import load_routing
from notifier.composers import PagerDutyComposer, SlackThreadComposer, TeamsComposer
from notifier.config import Settings
from notifier.domain.routing import Criteria, Destination, QuietWindow, Routing, Rule
from notifier.handlers import Notifier
from notifier.main import composer_for, sender_for
from notifier.ports import Delivery

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "notifier" / "routing.example.yaml"
INCIDENT = "inc-7"


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any]) -> Delivery:
        self.sent.append(payload)
        return Delivery(True, 1, "HTTP 202")


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[NotificationSent] = []

    def record(self, event: NotificationSent) -> None:
        self.records.append(event)


def opened(severity: str = "critical", environment: str = "prod") -> IncidentOpened:
    base = incident_opened(INCIDENT, title="Checkout errors")
    sig = Signature(service="api", namespace="shop", alertname="Errors", environment=environment)
    suspect = SuspectDeployment(
        application="checkout",
        revision="abc123",
        deployment_event_id="dep-1",
        seconds_before=30.0,
        score=0.8,
    )
    return dataclasses.replace(base, severity=severity, signature=sig, suspect=suspect)


def updated(severity: str, n: int = 0) -> IncidentUpdated:
    return IncidentUpdated(
        metadata=new_metadata(
            "remediation-planner", occurred_at=T0, event_id=deterministic_id("iu", INCIDENT, str(n))
        ),
        incident_id=INCIDENT,
        severity=severity,
        anomaly_ids=["a1", f"a{n + 2}"],
        member_fingerprints=["44ff802e930efd3f"],
        change=f"anomaly a{n + 2} joined",
    )


def resolved() -> IncidentResolved:
    return IncidentResolved(
        metadata=new_metadata(
            "remediation-planner", occurred_at=T0, event_id=deterministic_id("ir", INCIDENT)
        ),
        incident_id=INCIDENT,
        opened_at=T0,
        resolution="every member alert resolved",
    )


class World:
    """A Notifier over a routing, with a recording sender per destination."""

    def __init__(self, routing: Routing, known: dict[str, str] | None = None) -> None:
        self.senders = {name: RecordingSender() for name in routing.destinations}
        composers = {
            name: PagerDutyComposer(
                DEFAULT_ROUTING_KEY, trace_url_template="https://t/{incident_id}"
            )
            if d.type == "pagerduty"
            else SlackThreadComposer(d.channel)
            if d.type == "slack_bot"
            else TeamsComposer()
            for name, d in routing.destinations.items()
            if d.type != "slack"
        }
        self.log = RecordingLog()
        self.notifier = Notifier(
            self.senders,
            routing,
            delivery_log=self.log,
            known={} if known is None else known,
            clock=lambda: T0,
            composers=composers,
        )

    def handle(self, *events: Any) -> list[NotificationSent]:
        return [o.event for e in events for o in self.notifier.on_event(received(e))]

    def pd(self, name: str = "oncall-pager") -> list[tuple[str, str]]:
        for payload in self.senders[name].sent:
            validate_event(json.dumps(payload).encode())  # PagerDuty would accept it
        return [(p["event_action"], p["dedup_key"]) for p in self.senders[name].sent]


def example() -> World:
    return World(load_routing(EXAMPLE))


def pd_for_all_severities() -> World:
    pager = Destination("pager", "pagerduty", "PD_KEY")
    teams = Destination("teams", "teams", "TEAMS_URL")
    rule = Rule("all", Criteria(), ("pager", "teams"))
    return World(Routing({"pager": pager, "teams": teams}, (rule,)))


def test_an_opened_critical_incident_triggers_one_page_keyed_by_the_incident() -> None:
    world = example()
    out = world.handle(opened("critical"))
    assert world.pd() == [("trigger", INCIDENT)]
    [trigger] = world.senders["oncall-pager"].sent
    details = trigger["payload"]["custom_details"]
    assert details["suspect_deploy"]["revision"] == "abc123"
    assert details["evidence"] == {"anomaly_ids": ["a1"]}
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["links"] == [{"href": f"https://t/{INCIDENT}", "text": "Trace"}]
    assert len(world.senders["incidents-slack"].sent) == 1
    assert {o.dedup_key for o in out} == {
        f"pagerduty:oncall-pager:{INCIDENT}:opened",
        f"slack:incidents-slack:{INCIDENT}:opened",
        f"slack_bot:incidents-thread:{INCIDENT}:opened",
    }


def test_a_thousand_updates_at_the_same_severity_page_no_further() -> None:
    world = example()
    world.handle(opened("critical"))
    world.handle(*(updated("critical", n) for n in range(1000)))
    assert world.pd() == [("trigger", INCIDENT)]


def test_a_severity_rise_triggers_once_more_with_the_same_dedup_key() -> None:
    world = pd_for_all_severities()
    world.handle(opened("warning"))
    world.handle(updated("warning", 1), updated("high", 2), updated("high", 3))
    world.handle(updated("warning", 4), updated("high", 5))
    assert world.pd("pager") == [("trigger", INCIDENT), ("trigger", INCIDENT)]
    assert world.senders["pager"].sent[1]["payload"]["severity"] == "error"  # high


def test_a_resolution_resolves_the_alert_once() -> None:
    world = example()
    world.handle(opened("critical"), resolved(), resolved())
    assert world.pd() == [("trigger", INCIDENT), ("resolve", INCIDENT)]


def test_only_critical_incidents_page_with_the_example_routing() -> None:
    world = example()
    world.handle(opened("high"), updated("high"), resolved())
    assert world.pd() == []
    assert len(world.senders["incidents-slack"].sent) == 3


def test_an_incident_that_became_critical_pages_and_its_resolution_reaches_the_pager() -> None:
    world = example()
    world.handle(opened("high"), updated("critical"), resolved())
    assert world.pd() == [("trigger", INCIDENT), ("resolve", INCIDENT)]


def test_after_a_restart_the_alert_opened_before_is_still_resolved() -> None:
    known = {f"pagerduty:oncall-pager:{INCIDENT}:opened": "delivered"}
    world = World(load_routing(EXAMPLE), known=known)  # this process never saw the opening
    world.handle(resolved())
    assert world.pd() == [("resolve", INCIDENT)]


def test_teams_gets_an_adaptive_card_for_the_opening_and_a_short_card_for_the_resolution() -> None:
    world = pd_for_all_severities()
    world.handle(opened("warning"), resolved())
    cards = world.senders["teams"].sent
    assert len(cards) == 2
    for card in cards:
        validate_message(json.dumps(card).encode())  # Teams would accept it
    facts = cards[0]["attachments"][0]["content"]["body"][1]["facts"]
    assert {"title": "Suspect deploy", "value": "checkout@abc123"} in facts
    assert "resolved" in json.dumps(cards[1])


@pytest.mark.parametrize(
    ("destination", "variable"),
    [
        (Destination("pager", "pagerduty", "MISSING_PD_KEY"), "MISSING_PD_KEY"),
        (Destination("room", "teams", "MISSING_TEAMS_URL"), "MISSING_TEAMS_URL"),
    ],
)
def test_a_missing_secret_stops_the_notifier_naming_destination_and_variable(
    destination: Destination, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SystemExit, match=f"destination {destination.name}: {variable} is not set"):
        sender_for(destination, Settings())


def test_every_destination_type_of_the_example_is_composed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_SLACK_WEBHOOK_URL", "http://127.0.0.1:1/hook")
    monkeypatch.setenv("NOTIFIER_PAGERDUTY_ROUTING_KEY", DEFAULT_ROUTING_KEY)
    monkeypatch.setenv("NOTIFIER_TEAMS_WEBHOOK_URL", "http://127.0.0.1:1/teams")
    monkeypatch.setenv("NOTIFIER_SLACK_BOT_TOKEN", "xoxb-test")
    settings = Settings()
    for destination in load_routing(EXAMPLE).destinations.values():
        sender_for(destination, settings)
        composer_for(destination, settings)


def test_quiet_hours_do_not_keep_an_opened_alert_from_being_resolved() -> None:
    always = QuietWindow(frozenset(range(7)), time(0, 0), time(0, 0), ZoneInfo("UTC"))
    pager = Destination("pager", "pagerduty", "PD_KEY", quiet_hours=(always,))
    known = {f"pagerduty:pager:{INCIDENT}:opened": "delivered"}
    world = World(Routing({"pager": pager}, (Rule("all", Criteria(), ("pager",)),)), known)
    out = world.handle(resolved())
    assert world.pd("pager") == [("resolve", INCIDENT)]
    assert [o.status for o in out] == ["delivered"]
