"""The compliance rules as read from YAML: schedules, environments and per-rule settings (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

DEPLOY_OUTSIDE_WINDOW = "deploy-outside-change-window"
DEPLOY_IN_FREEZE = "deploy-during-freeze"
REMEDIATION_WITHOUT_APPROVAL = "remediation-without-approval"
FOUR_EYES = "approval-by-proposer"
INCIDENT_NOT_ACKNOWLEDGED = "incident-not-acknowledged"
INCIDENT_NOT_RESOLVED = "incident-not-resolved"
FAILED_SYNC_UNRESOLVED = "failed-sync-unresolved"
RULE_IDS = (
    DEPLOY_OUTSIDE_WINDOW,
    DEPLOY_IN_FREEZE,
    REMEDIATION_WITHOUT_APPROVAL,
    FOUR_EYES,
    INCIDENT_NOT_ACKNOWLEDGED,
    INCIDENT_NOT_RESOLVED,
    FAILED_SYNC_UNRESOLVED,
)


@dataclass(frozen=True)
class Weekly:
    """A recurring weekly period in a time zone; `end <= start` means it crosses midnight."""

    days: frozenset[int]
    """Weekdays the period starts on, 0 = Monday."""
    start: time
    end: time
    tz: ZoneInfo

    def contains(self, at: datetime) -> bool:
        """Whether `at` (aware) falls in the period, read in the period's own time zone."""
        local = at.astimezone(self.tz)
        clock, day = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= clock < self.end
        return (day in self.days and clock >= self.start) or (
            (day - 1) % 7 in self.days and clock < self.end
        )


@dataclass(frozen=True)
class Dated:
    """A one-off period between two aware datetimes (end excluded)."""

    start: datetime
    end: datetime

    def contains(self, at: datetime) -> bool:
        """Whether `at` falls in [start, end)."""
        return self.start <= at < self.end


@dataclass(frozen=True)
class Schedule:
    """A named change window or freeze."""

    name: str
    period: Weekly | Dated


@dataclass(frozen=True)
class EnvironmentMatch:
    """Names the environment of deploys whose Application carries no environment label."""

    environment: str
    globs: tuple[tuple[str, str], ...]
    """(field, glob) pairs over application, project, namespace, cluster; all must match."""

    def matches(self, fields: dict[str, str]) -> bool:
        """Whether every glob matches its field."""
        return all(fnmatchcase(fields.get(name, ""), glob) for name, glob in self.globs)


@dataclass(frozen=True)
class RuleSettings:
    """How one rule behaves."""

    enabled: bool = True
    severity: str = "high"
    within: timedelta = timedelta(0)
    """Deadline of the time-bound rules (acknowledge, resolve, fix a failed sync)."""
    incident_severities: frozenset[str] = frozenset({"critical"})
    production_only: bool = True


@dataclass(frozen=True)
class RulesConfig:
    """Everything the rule engine needs."""

    production_environments: frozenset[str] = frozenset({"production", "prod"})
    environments: tuple[EnvironmentMatch, ...] = ()
    change_windows: tuple[Schedule, ...] = ()
    freezes: tuple[Schedule, ...] = ()
    rules: dict[str, RuleSettings] = field(default_factory=dict)
    settle: timedelta = timedelta(minutes=2)
    """Events from different topics arrive out of order: judge absences only this much later."""
    retention: timedelta = timedelta(days=30)
    """State of finished cases is dropped after this long."""
    automation_names: frozenset[str] = frozenset({"remediation-planner", "policy", "automated"})
    """Deciders and proposers that are not people (their decisions acknowledge nothing)."""

    def rule(self, rule_id: str) -> RuleSettings:
        """Settings of a rule (defaults when the file does not mention it)."""
        return self.rules.get(rule_id, RuleSettings())

    def is_production(self, environment: str) -> bool:
        """Whether an environment name counts as production."""
        return environment.lower() in self.production_environments

    def window_of(self, at: datetime) -> Schedule | None:
        """The change window open at `at`, if any."""
        return next((w for w in self.change_windows if w.period.contains(at)), None)

    def freeze_of(self, at: datetime) -> Schedule | None:
        """The freeze in force at `at`, if any."""
        return next((f for f in self.freezes if f.period.contains(at)), None)

    def environment_of(self, fields: dict[str, str]) -> str:
        """The environment the first matching entry names, or ''."""
        return next((e.environment for e in self.environments if e.matches(fields)), "")
