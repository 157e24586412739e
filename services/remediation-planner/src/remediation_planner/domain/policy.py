"""The policy gate: per environment, action and blast radius -> auto / needs_approval / forbidden.

Order of decision:
1. the first rule that matches (environment, action, blast radius) gives the gate; the policy's
   default when none does;
2. `forbidden` stays forbidden: nothing below can make an action automatic;
3. an `auto` gate is paused to `needs_approval` while a maintenance window or change freeze of
   the environment is active (a person can still approve: deferring the fix of a live incident
   until a freeze ends would be worse than asking), and when the service already had the hourly
   limit of automatic actions in the last hour (runaway automation).

Every decision names the rule that decided it (`gate_rule`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

GATES = ("auto", "needs_approval", "forbidden")
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Rule:
    """A policy rule; empty sets match anything, blast radius bounds are inclusive."""

    name: str
    gate: str
    environments: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    min_blast_radius: int | None = None
    max_blast_radius: int | None = None

    def applies(self, environment: str, action: str, blast_radius: int) -> bool:
        """Whether this rule covers the proposed action."""
        if self.environments and environment not in self.environments:
            return False
        if self.actions and action not in self.actions:
            return False
        if self.min_blast_radius is not None and blast_radius < self.min_blast_radius:
            return False
        return self.max_blast_radius is None or blast_radius <= self.max_blast_radius


@dataclass(frozen=True)
class Window:
    """A maintenance window or change freeze: recurring (days + clock times in a time zone) or
    one-off (from/until in that zone). An end at or before the start crosses midnight."""

    name: str
    kind: str  # freeze | maintenance
    tz: ZoneInfo
    environments: frozenset[str] = frozenset()
    days: frozenset[int] = frozenset(range(7))  # Monday = 0
    start: time | None = None
    end: time | None = None
    since: datetime | None = None  # one-off, aware
    until: datetime | None = None

    def active(self, at: datetime, environment: str) -> bool:
        """Whether the window covers this moment for this environment."""
        if self.environments and environment not in self.environments:
            return False
        if self.since is not None and self.until is not None:
            return self.since <= at < self.until
        if self.start is None or self.end is None:
            return False
        local = at.astimezone(self.tz)
        now, day = local.time(), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= now < self.end
        # crosses midnight: the evening of a listed day, or the morning after it
        return (day in self.days and now >= self.start) or (
            (day - 1) % 7 in self.days and now < self.end
        )


@dataclass(frozen=True)
class Policy:
    """Rules, a default, windows, the hourly automation limit and how long approvals may take."""

    rules: tuple[Rule, ...]
    default: Rule
    windows: tuple[Window, ...] = ()
    hourly_limit: int = 3
    approval_ttl: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Decision:
    """The gate, the rule that decided it, and why in words."""

    gate: str
    rule: str
    reason: str


def decide(
    policy: Policy,
    *,
    environment: str,
    action: str,
    blast_radius: int,
    at: datetime,
    automatic_last_hour: int,
    service: str,
) -> Decision:
    """The gate of one proposed action (see the module docstring for the order)."""
    rule = next(
        (r for r in policy.rules if r.applies(environment, action, blast_radius)), policy.default
    )
    env = environment or "(no environment)"
    why = f"rule '{rule.name}': {action} in {env} with blast radius {blast_radius} is {rule.gate}"
    if rule.gate != "auto":
        return Decision(rule.gate, rule.name, why)
    for window in policy.windows:
        if window.active(at, environment):
            return Decision(
                "needs_approval",
                f"{window.kind}:{window.name}",
                f"{window.kind} '{window.name}' is active in {env}: automatic actions pause "
                f"({why})",
            )
    if automatic_last_hour >= policy.hourly_limit:
        return Decision(
            "needs_approval",
            "rate-limit:automatic-actions-per-service-per-hour",
            f"{service} already had {automatic_last_hour} automatic actions in the last hour "
            f"(limit {policy.hourly_limit}) ({why})",
        )
    return Decision("auto", rule.name, why)


class AutomationLedger:
    """Automatic actions per service in the last hour (event time), each plan counted once."""

    def __init__(self) -> None:
        self._recent: dict[str, deque[tuple[datetime, str]]] = {}
        self._plans: set[str] = set()

    def count(self, service: str, at: datetime) -> int:
        """Automatic actions of the service in the hour before `at`."""
        return sum(1 for when, _ in self._recent.get(service, ()) if at - when < HOUR)

    def add(self, service: str, plan_id: str, at: datetime) -> bool:
        """Record an automatic action; False if this plan was already recorded."""
        if plan_id in self._plans:
            return False
        self._plans.add(plan_id)
        self._recent.setdefault(service, deque()).append((at, plan_id))
        return True

    def prune(self, now: datetime) -> list[tuple[str, str]]:
        """Forget actions older than an hour; returns (service, plan_id) of those forgotten."""
        gone = []
        for service, entries in self._recent.items():
            while entries and now - entries[0][0] >= HOUR:
                _, plan_id = entries.popleft()
                self._plans.discard(plan_id)
                gone.append((service, plan_id))
        return gone
