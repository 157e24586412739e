"""Load the routing YAML and validate it at start-up; errors name file, line and field."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cc.platform.yaml_file import time_zone as known_time_zone
from notifier.domain.routing import Criteria, Destination, QuietWindow, Routing, Rule
from notifier.domain.token_bucket import per_minute

Kind = Literal[
    "incident_opened", "incident_updated", "incident_resolved", "remediation_planned", "violation"
]
Severity = Literal["critical", "high", "warning", "medium", "low", "info"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Provider limits (messages per second, burst) used when a destination sets none. Slack allows
# "short bursts" over 1/s (observed: about 25): a burst of 20 stays under it with a margin, and
# an incident storm is not spread over minutes.
SLACK_RATE = (1.0, 20.0)
DEFAULT_RATES = {
    "slack": SLACK_RATE,
    "slack_bot": SLACK_RATE,  # chat.postMessage: 1 a second per channel, short bursts
    "pagerduty": (per_minute(120), 1.0),
    "teams": (1.0, 1.0),
}
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class RoutingFileError(ValueError):
    """The routing file is invalid; `problems` are 'file:line: field: message' lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid routing file:\n" + "\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowSpec(_Strict):
    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1)
    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        if not isinstance(value, str) or not CLOCK.match(value):
            # YAML 1.1 reads an unquoted 22:00 as the number 1320
            raise ValueError("a time must be a quoted 'HH:MM' string")
        return value


class QuietHoursSpec(_Strict):
    time_zone: str
    windows: list[WindowSpec] = Field(min_length=1)

    _zone = field_validator("time_zone")(known_time_zone)


class RateLimitSpec(_Strict):
    per_second: float = Field(gt=0)
    burst: float = Field(default=1, ge=1)


class DestinationSpec(_Strict):
    type: Literal["slack", "slack_bot", "pagerduty", "teams"]
    settings: str = Field(min_length=1)
    channel: str | None = Field(default=None, min_length=1)
    severities: list[Severity] = Field(default_factory=list)
    quiet_hours: QuietHoursSpec | None = None
    rate_limit: RateLimitSpec | None = None

    @model_validator(mode="after")
    def _channel(self) -> Self:
        if self.type == "slack_bot" and self.channel is None:
            raise ValueError("a slack_bot destination needs a channel")
        if self.type != "slack_bot" and self.channel is not None:
            raise ValueError(f"channel is for slack_bot destinations, not {self.type}")
        return self


class WhenSpec(_Strict):
    kinds: list[Kind] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=list)
    environments: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)


class RuleSpec(_Strict):
    name: str
    when: WhenSpec = Field(default_factory=WhenSpec)
    to: list[str] = Field(min_length=1)


class RoutingSpec(_Strict):
    destinations: dict[str, DestinationSpec] = Field(min_length=1)
    compliance_destination: str | None = None
    rules: list[RuleSpec] = Field(default_factory=list)


def load_routing(path: Path) -> Routing:
    """Parse and validate a routing file; raise RoutingFileError naming every problem."""
    text = path.read_text()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RoutingFileError([f"{path}:{line}: (yaml): {exc}"]) from exc
    lines: dict[tuple[str | int, ...], int] = {}
    if root is not None:
        _index(root, (), lines)
    try:
        spec = RoutingSpec.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise RoutingFileError(
            [_problem(path, lines, tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        ) from exc
    return _routing(path, lines, spec)


def _routing(path: Path, lines: dict[tuple[str | int, ...], int], spec: RoutingSpec) -> Routing:
    """The domain model; names that point at no destination are reported with their line."""
    problems = [
        _problem(path, lines, ("rules", i, "to", j), f"no destination named {name!r}")
        for i, rule in enumerate(spec.rules)
        for j, name in enumerate(rule.to)
        if name not in spec.destinations
    ]
    if spec.compliance_destination and spec.compliance_destination not in spec.destinations:
        name = spec.compliance_destination
        problems.append(
            _problem(path, lines, ("compliance_destination",), f"no destination named {name!r}")
        )
    if problems:
        raise RoutingFileError(problems)
    return Routing(
        destinations={name: _destination(name, d) for name, d in spec.destinations.items()},
        rules=tuple(
            Rule(
                name=r.name,
                when=Criteria(
                    kinds=frozenset(r.when.kinds),
                    severities=frozenset(r.when.severities),
                    environments=frozenset(r.when.environments),
                    namespaces=frozenset(r.when.namespaces),
                    teams=frozenset(r.when.teams),
                ),
                to=tuple(r.to),
            )
            for r in spec.rules
        ),
        compliance_destination=spec.compliance_destination,
    )


def _destination(name: str, spec: DestinationSpec) -> Destination:
    rate, burst = DEFAULT_RATES[spec.type]
    if spec.rate_limit is not None:
        rate, burst = spec.rate_limit.per_second, spec.rate_limit.burst
    windows: tuple[QuietWindow, ...] = ()
    if spec.quiet_hours is not None:
        tz = ZoneInfo(spec.quiet_hours.time_zone)
        windows = tuple(
            QuietWindow(
                days=frozenset(DAYS.index(d) for d in w.days),
                start=time.fromisoformat(w.start),
                end=time.fromisoformat(w.end),
                tz=tz,
            )
            for w in spec.quiet_hours.windows
        )
    return Destination(
        name=name,
        type=spec.type,
        settings=spec.settings,
        severities=frozenset(spec.severities),
        quiet_hours=windows,
        rate_per_s=rate,
        burst=burst,
        channel=spec.channel or "",
    )


def _index(
    node: yaml.Node, at: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]
) -> None:
    """Record the 1-based line of every mapping key and sequence item under `node`."""
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*at, str(key.value))
            _index(value, child, lines)
            lines[child] = key.start_mark.line + 1  # the key's line reads better than the value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*at, i), lines)


def _problem(
    path: Path, lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...], msg: str
) -> str:
    """'file:line: field: message', the line of the deepest part of `loc` present in the file."""
    line = 1
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            line = lines[loc[:n]]
            break
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return f"{path}:{line}: {field or '(top)'}: {msg}"
