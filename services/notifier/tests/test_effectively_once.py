"""The handler records its intent before sending and never resends a key the log holds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cc.events import ComplianceViolationFound, NotificationSent, new_metadata
from cc.kafka import RetryableError
from cc.testing.events import T0, incident_opened, received
from notifier.domain.routing import Criteria, Destination, QuietWindow, Routing, Rule
from notifier.handlers import SENDING, Notifier
from notifier.ports import Delivery

KEY = "slack:a:inc-1:opened"


class Sender:
    def __init__(self, journal: list[str], name: str, fail: int = 0) -> None:
        self.journal, self.name, self.fail = journal, name, fail

    def send(self, payload: dict[str, Any]) -> Delivery:
        if self.fail:
            self.fail -= 1
            raise RetryableError("down")
        self.journal.append(f"send {self.name}")
        return Delivery(True, 1, "HTTP 200 ok")


class Log:
    def __init__(self, journal: list[str]) -> None:
        self.journal = journal

    def record(self, event: NotificationSent) -> None:
        self.journal.append(f"{event.status} {event.dedup_key}")


def notifier(
    journal: list[str], *destinations: Destination, known: dict[str, str] | None = None, **kw: Any
) -> tuple[Notifier, list[str]]:
    names = tuple(d.name for d in destinations)
    routing = Routing(
        {d.name: d for d in destinations},
        (Rule("all", Criteria(kinds=frozenset({"incident_opened"})), names),),
        compliance_destination=names[-1],
    )
    senders = {d.name: kw.get(d.name) or Sender(journal, d.name) for d in destinations}
    skipped: list[str] = []
    return (
        Notifier(
            senders,
            routing,
            delivery_log=Log(journal),
            known={} if known is None else known,
            clock=kw.get("clock", lambda: T0),
            on_skip=skipped.append,
        ),
        skipped,
    )


def slack(name: str, **kw: Any) -> Destination:
    return Destination(name, "slack", "X", **kw)


def test_the_intent_is_durable_before_the_message_is_sent() -> None:
    journal: list[str] = []
    handler, _ = notifier(journal, slack("a"))
    [out] = handler.on_event(received(incident_opened()))
    assert journal == [f"{SENDING} {KEY}", "send a"]
    assert out.event.status == "delivered" and out.key == KEY
    assert out.event.metadata.event_id != "", "outcome and intent have different event ids"


@pytest.mark.parametrize("status", [SENDING, "delivered", "failed"])
def test_a_key_already_in_the_log_is_not_sent_again(status: str) -> None:
    journal: list[str] = []
    handler, skipped = notifier(journal, slack("a"), known={KEY: status})
    assert handler.on_event(received(incident_opened())) == []
    assert journal == [] and skipped == [status]


def test_a_failed_attempt_is_retried_and_earlier_outcomes_are_still_produced() -> None:
    journal: list[str] = []
    handler, _ = notifier(journal, slack("a"), slack("b"), b=Sender(journal, "b", fail=1))
    with pytest.raises(RetryableError):
        handler.on_event(received(incident_opened()))
    out = handler.on_event(received(incident_opened()))
    assert [o.key for o in out] == [KEY, "slack:b:inc-1:opened"]
    assert journal.count("send a") == 1 and journal.count("send b") == 1


def test_quiet_hours_record_a_suppressed_notification_instead_of_sending() -> None:
    journal: list[str] = []
    always = QuietWindow(frozenset(range(7)), time(0, 0), time(0, 0), ZoneInfo("UTC"))
    handler, _ = notifier(journal, slack("a", quiet_hours=(always,)))
    event = dataclasses.replace(incident_opened(), severity="warning")
    [out] = handler.on_event(received(event))
    assert journal == [] and out.event.status == "suppressed"


def test_a_violation_goes_to_the_compliance_destination() -> None:
    journal: list[str] = []
    handler, _ = notifier(journal, slack("a"), slack("compliance"))
    violation = ComplianceViolationFound(
        metadata=new_metadata("compliance-auditor", occurred_at=datetime(2026, 1, 1, tzinfo=UTC)),
        violation_id="v1",
        rule_id="r1",
        severity="high",
        description="unapproved change",
        evidence_event_ids=[],
    )
    [out] = handler.on_event(received(violation))
    assert out.key == "slack:compliance:v1:violation"
    assert journal == [f"{SENDING} slack:compliance:v1:violation", "send compliance"]
