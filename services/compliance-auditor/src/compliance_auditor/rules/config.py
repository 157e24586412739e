"""Read and validate the rules YAML; errors name file, line and field."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cc.platform.yaml_file import YamlFileError, load_yaml_model, time_zone
from compliance_auditor.rules.model import (
    RULE_IDS,
    Dated,
    EnvironmentMatch,
    RulesConfig,
    RuleSettings,
    Schedule,
    Weekly,
)

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Severity = Literal["critical", "high", "medium", "low"]
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
TIMED_RULES = {"incident-not-acknowledged", "incident-not-resolved", "failed-sync-unresolved"}

RulesFileError = YamlFileError


def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '4h', '2d' -> timedelta."""
    match = DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("a duration is a quoted number with a unit: '30s', '15m', '4h', '2d'")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduleSpec(_Strict):
    """Either weekly (days + 'HH:MM' start/end) or dated (ISO start/end), in a time zone."""

    name: str = Field(min_length=1)
    timezone: str = "UTC"
    days: list[Day] | None = None
    start: str
    end: str

    _zone = field_validator("timezone")(time_zone)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            # YAML 1.1 reads an unquoted 22:00 as the number 1320, and dates as dates
            raise ValueError("quote times ('09:00') and datetimes ('2026-12-20T00:00')")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.days is not None:
            if not (CLOCK.match(self.start) and CLOCK.match(self.end)):
                raise ValueError("a weekly schedule has 'HH:MM' start and end")
        else:
            try:
                start, end = datetime.fromisoformat(self.start), datetime.fromisoformat(self.end)
            except ValueError as exc:
                raise ValueError("a dated schedule has ISO datetimes (or give days)") from exc
            if start.replace(tzinfo=None) >= end.replace(tzinfo=None):
                raise ValueError("start must be before end")
        return self

    def to_schedule(self) -> Schedule:
        """The domain schedule."""
        tz = ZoneInfo(self.timezone)
        if self.days is not None:
            days = frozenset(DAYS.index(d) for d in self.days)
            return Schedule(
                self.name,
                Weekly(days, time.fromisoformat(self.start), time.fromisoformat(self.end), tz),
            )
        start, end = datetime.fromisoformat(self.start), datetime.fromisoformat(self.end)
        return Schedule(
            self.name, Dated(start if start.tzinfo else start.replace(tzinfo=tz), _aware(end, tz))
        )


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


class EnvironmentSpec(_Strict):
    environment: str = Field(min_length=1)
    application: str | None = None
    project: str | None = None
    namespace: str | None = None
    cluster: str | None = None

    @model_validator(mode="after")
    def _some(self) -> Self:
        if not any((self.application, self.project, self.namespace, self.cluster)):
            raise ValueError("give at least one of application, project, namespace, cluster")
        return self


class RuleSpec(_Strict):
    enabled: bool = True
    severity: Severity = "high"
    within: str | None = None
    incident_severities: list[str] = Field(default_factory=lambda: ["critical"], min_length=1)
    production_only: bool = True

    @field_validator("within")
    @classmethod
    def _within(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class RulesSpec(_Strict):
    version: Literal[1] = 1
    production_environments: list[str] = Field(
        default_factory=lambda: ["production", "prod"], min_length=1
    )
    environments: list[EnvironmentSpec] = Field(default_factory=list)
    change_windows: list[ScheduleSpec] = Field(default_factory=list)
    freezes: list[ScheduleSpec] = Field(default_factory=list)
    settle: str = "2m"
    retention: str = "30d"
    automation_names: list[str] = Field(
        default_factory=lambda: ["remediation-planner", "policy", "automated"]
    )
    rules: dict[str, RuleSpec] = Field(default_factory=dict)

    @field_validator("settle", "retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


def load_rules(path: Path) -> RulesConfig:
    """Parse and validate a rules file; raise RulesFileError naming every problem."""
    spec, lines = load_yaml_model(path, RulesSpec)
    problems = []
    for rule_id, rule in spec.rules.items():
        if rule_id not in RULE_IDS:
            known = ", ".join(RULE_IDS)
            problems.append(lines.problem(("rules", rule_id), f"unknown rule; known: {known}"))
        elif rule_id in TIMED_RULES and rule.enabled and rule.within is None:
            problems.append(lines.problem(("rules", rule_id, "within"), "this rule needs within"))
    if problems:
        raise RulesFileError(problems)
    return RulesConfig(
        production_environments=frozenset(e.lower() for e in spec.production_environments),
        environments=tuple(
            EnvironmentMatch(
                e.environment,
                tuple(
                    (name, glob)
                    for name in ("application", "project", "namespace", "cluster")
                    if (glob := getattr(e, name)) is not None
                ),
            )
            for e in spec.environments
        ),
        change_windows=tuple(w.to_schedule() for w in spec.change_windows),
        freezes=tuple(f.to_schedule() for f in spec.freezes),
        rules={
            rule_id: RuleSettings(
                enabled=r.enabled,
                severity=r.severity,
                within=parse_duration(r.within) if r.within else timedelta(0),
                incident_severities=frozenset(r.incident_severities),
                production_only=r.production_only,
            )
            for rule_id, r in spec.rules.items()
        },
        settle=parse_duration(spec.settle),
        retention=parse_duration(spec.retention),
        automation_names=frozenset(spec.automation_names),
    )
