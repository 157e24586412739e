"""KPI periods and results (pure): what is measured, and how group figures add up."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$")


class PeriodError(ValueError):
    """A period that cannot be read."""


@dataclass(frozen=True)
class Period:
    """A half-open UTC interval [start, end) with the name it was asked by."""

    name: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        """Length in days."""
        return (self.end - self.start).total_seconds() / 86400

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026-11' (month), '2026-Q4' (quarter) or '2026' (year), in UTC."""
        match = PERIOD.match(text.strip())
        if match is None:
            raise PeriodError(f"period {text!r}: expected YYYY-MM, YYYY-Qn or YYYY")
        year, month, quarter = match.groups()
        first, months = 1, 12
        if month is not None:
            first, months = int(month), 1
            if not 1 <= first <= 12:
                raise PeriodError(f"period {text!r}: month must be 01..12")
        elif quarter is not None:
            first, months = 3 * int(quarter) - 2, 3
        start = datetime(int(year), first, 1, tzinfo=UTC)
        end_month = first + months
        end = datetime(int(year) + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
        return cls(text.strip(), start, end)

    @classmethod
    def between(cls, start: datetime, end: datetime) -> Period:
        """An explicit interval (aware datetimes)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise PeriodError("from and to need a time zone (e.g. 2026-11-01T00:00:00Z)")
        if start >= end:
            raise PeriodError("from must be before to")
        return cls(f"{start.isoformat()}/{end.isoformat()}", start, end)


@dataclass(frozen=True)
class Scope:
    """Which audit records the KPIs cover."""

    period: Period
    service: str | None = None
    environment: str | None = None
    lookahead: timedelta = timedelta(days=7)
    """Incidents, rollbacks and resolutions this long after the period still count for changes
    and incidents inside it."""


@dataclass
class Durations:
    """Count, mean and median of a set of durations (seconds)."""

    count: int = 0
    mean_seconds: float | None = None
    median_seconds: float | None = None
    p90_seconds: float | None = None

    @classmethod
    def of(cls, values: list[float]) -> Durations:
        """Computed from the values themselves."""
        if not values:
            return cls()
        ordered = sorted(values)
        return cls(
            count=len(ordered),
            mean_seconds=sum(ordered) / len(ordered),
            median_seconds=_quantile(ordered, 0.5),
            p90_seconds=_quantile(ordered, 0.9),
        )


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class GroupKpis:
    """The KPIs of one (service, environment) over the period, or of everything ('*')."""

    service: str
    environment: str
    deployments: int = 0
    deployments_per_day: float = 0.0
    lead_time: Durations = field(default_factory=Durations)
    failed_deployments: int = 0
    change_failure_rate: float | None = None
    time_to_restore: Durations = field(default_factory=Durations)
    incidents: int = 0
    acknowledge: Durations = field(default_factory=Durations)
    """Opened -> acknowledged (MTTA is its mean)."""
    resolve: Durations = field(default_factory=Durations)
    """Opened -> resolved (MTTR is its mean)."""
    alerts: int = 0
    pages: int = 0
    alerts_per_incident: float | None = None
    noise_reduction: float | None = None
    """1 - incidents/alerts: the share of alerts that did not become an incident of their own."""
    auto_executions: int = 0
    auto_succeeded: int = 0
    auto_resolved: int = 0
    auto_success_rate: float | None = None
    """Automatic executions whose verification found the incident resolved / all of them."""
    changes: int = 0
    violations: int = 0
    violations_per_change: float | None = None

    def finish(self, period: Period) -> GroupKpis:
        """Fill the ratios from the counts."""
        self.deployments_per_day = self.deployments / period.days if period.days else 0.0
        self.change_failure_rate = _ratio(self.failed_deployments, self.deployments)
        self.alerts_per_incident = _ratio(self.alerts, self.incidents)
        self.noise_reduction = None if not self.alerts else 1 - self.incidents / self.alerts
        self.auto_success_rate = _ratio(self.auto_resolved, self.auto_executions)
        self.violations_per_change = _ratio(self.violations, self.changes)
        return self


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass
class KpiReport:
    """KPIs per (service, environment) and for the whole scope."""

    period: Period
    service: str | None
    environment: str | None
    total: GroupKpis
    groups: list[GroupKpis]
    deployments_by_day: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
