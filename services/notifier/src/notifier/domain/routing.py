"""Routing rules: which destinations hear about an event, now (pure: pass `now`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

KINDS = (
    "incident_opened",
    "incident_updated",
    "incident_resolved",
    "remediation_planned",
    "violation",
)
DESTINATION_TYPES = ("slack", "slack_bot", "pagerduty", "teams")
# Critical notifications are never silenced by quiet hours: that is what paging is for.
QUIET_BYPASS = frozenset({"critical"})


@dataclass(frozen=True)
class Facts:
    """What routing may look at in an event; '' when the event does not say."""

    kind: str
    severity: str
    environment: str = ""
    namespace: str = ""
    team: str = ""


@dataclass(frozen=True)
class QuietWindow:
    """A recurring weekly window in a time zone; `end <= start` means it crosses midnight."""

    days: frozenset[int]
    """Weekdays the window starts on, 0 = Monday."""
    start: time
    end: time
    tz: ZoneInfo

    def contains(self, now: datetime) -> bool:
        """Whether `now` (aware) falls in the window, in the window's own time zone."""
        local = now.astimezone(self.tz)
        at, day = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= at < self.end
        # crossing midnight: the evening part belongs to `day`, the morning part to the day before
        return (day in self.days and at >= self.start) or (
            (day - 1) % 7 in self.days and at < self.end
        )


@dataclass(frozen=True)
class Destination:
    """A named place to notify; `settings` names where its secret comes from (never the secret)."""

    name: str
    type: str
    settings: str
    severities: frozenset[str] = frozenset()
    """Only these severities reach it (empty = all): pages only for incidents that warrant one."""
    quiet_hours: tuple[QuietWindow, ...] = ()
    rate_per_s: float = 1.0
    burst: float = 1.0
    channel: str = ""
    """Of a `slack_bot` destination: the channel chat.postMessage posts to ('' otherwise)."""

    def quiet(self, now: datetime) -> bool:
        """Whether any quiet window holds at `now`."""
        return any(window.contains(now) for window in self.quiet_hours)


@dataclass(frozen=True)
class Criteria:
    """Conditions a rule needs; an empty set matches anything."""

    kinds: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()

    def matches(self, facts: Facts) -> bool:
        """All given conditions hold for the facts."""
        pairs = (
            (self.kinds, facts.kind),
            (self.severities, facts.severity),
            (self.environments, facts.environment),
            (self.namespaces, facts.namespace),
            (self.teams, facts.team),
        )
        return all(not wanted or value in wanted for wanted, value in pairs)


@dataclass(frozen=True)
class Rule:
    """When the criteria match, notify these destinations."""

    name: str
    when: Criteria
    to: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """Where to send now, and where it was dropped (destination, reason)."""

    send: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Routing:
    """Destinations and rules; every rule that matches adds its destinations (no first-match)."""

    destinations: Mapping[str, Destination]
    rules: tuple[Rule, ...]
    compliance_destination: str | None = None

    def __post_init__(self) -> None:
        named = [d for r in self.rules for d in r.to]
        if self.compliance_destination:
            named.append(self.compliance_destination)
        missing = tuple(sorted({d for d in named if d not in self.destinations}))
        if missing:
            raise ValueError(f"unknown destinations: {', '.join(missing)}")

    def route(self, facts: Facts, now: datetime) -> Decision:
        """The destinations for these facts at `now`, with quiet hours applied."""
        chosen: list[str] = []
        if facts.kind == "violation" and self.compliance_destination:
            chosen.append(self.compliance_destination)
        for rule in self.rules:
            if rule.when.matches(facts):
                chosen.extend(d for d in rule.to if d not in chosen)
        send: list[str] = []
        dropped: list[tuple[str, str]] = []
        for name in chosen:
            destination = self.destinations[name]
            if destination.severities and facts.severity not in destination.severities:
                continue  # not a miss: this destination does not take this severity at all
            if facts.severity not in QUIET_BYPASS and destination.quiet(now):
                dropped.append((name, "quiet hours"))
                continue
            send.append(name)
        return Decision(tuple(send), tuple(dropped))

    def match(self, facts: Facts, now: datetime) -> list[str]:
        """The destination names to notify now."""
        return list(self.route(facts, now).send)
