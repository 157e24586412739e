"""Load and validate the policy YAML at start-up (errors name file, line and field)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cc.platform.yaml_file import load_yaml_model
from cc.platform.yaml_file import time_zone as known_time_zone
from remediation_planner.adapters.runbook_file import Action
from remediation_planner.domain.policy import Policy, Rule, Window

Gate = Literal["auto", "needs_approval", "forbidden"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSpec(_Strict):
    name: str = Field(min_length=1)
    gate: Gate
    environments: list[str] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    min_blast_radius: int | None = Field(default=None, ge=0)
    max_blast_radius: int | None = Field(default=None, ge=0)


class DefaultSpec(_Strict):
    name: str = Field(min_length=1)
    gate: Gate


class WindowSpec(_Strict):
    name: str = Field(min_length=1)
    type: Literal["freeze", "maintenance"]
    time_zone: str
    environments: list[str] = Field(default_factory=list)
    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1)
    start: str | None = None
    end: str | None = None
    since: datetime | None = Field(default=None, alias="from")
    until: datetime | None = None

    _zone = field_validator("time_zone")(known_time_zone)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or not CLOCK.match(value)):
            # YAML 1.1 reads an unquoted 22:00 as the number 1320
            raise ValueError("a time must be a quoted 'HH:MM' string")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Self:
        recurring = self.start is not None and self.end is not None
        one_off = self.since is not None and self.until is not None
        if recurring == one_off:
            raise ValueError("give either start and end (recurring) or from and until (one-off)")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after from")
        return self


class RateLimitSpec(_Strict):
    automatic_actions_per_service_per_hour: int = Field(ge=0)


class PolicySpec(_Strict):
    version: Literal[1] = 1
    approval_ttl_minutes: int = Field(default=60, gt=0)
    rate_limit: RateLimitSpec
    windows: list[WindowSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)
    default: DefaultSpec


def load_policy(path: Path) -> Policy:
    """The policy of a file; YamlFileError listing every problem with its line."""
    spec, _ = load_yaml_model(path, PolicySpec)
    return Policy(
        rules=tuple(
            Rule(
                name=r.name,
                gate=r.gate,
                environments=frozenset(r.environments),
                actions=frozenset(r.actions),
                min_blast_radius=r.min_blast_radius,
                max_blast_radius=r.max_blast_radius,
            )
            for r in spec.rules
        ),
        default=Rule(name=spec.default.name, gate=spec.default.gate),
        windows=tuple(_window(w) for w in spec.windows),
        hourly_limit=spec.rate_limit.automatic_actions_per_service_per_hour,
        approval_ttl=timedelta(minutes=spec.approval_ttl_minutes),
    )


def _window(spec: WindowSpec) -> Window:
    tz = ZoneInfo(spec.time_zone)

    def local(moment: datetime | None) -> datetime | None:
        # a one-off window's times are wall-clock times of its zone unless they carry an offset
        if moment is None:
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)

    return Window(
        name=spec.name,
        kind=spec.type,
        tz=tz,
        environments=frozenset(spec.environments),
        days=frozenset(DAYS.index(d) for d in spec.days),
        start=None if spec.start is None else time.fromisoformat(spec.start),
        end=None if spec.end is None else time.fromisoformat(spec.end),
        since=local(spec.since),
        until=local(spec.until),
    )
