"""Alert storms: a signature's new firings in a sliding window far above its seasonal baseline.

A storm opens once (one anomaly, `started`) when the window's count reaches a threshold derived
from the expected count (at least `min_alerts`, `min_ratio` x expected, Poisson tail p <=
`max_p_value`), and closes (`ended`) at the first moment the window, with no further firings,
holds fewer than `end_fraction` of that threshold. The end time follows from the events alone,
so whether the tick or a later firing notices it, the `ended` event is the same.

Right after a deploy of the same application or namespace a smaller burst is enough (the deploy
thresholds): the storm then opens as a `deploy_regression` naming the deploy.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import astuple, dataclass, field, replace
from typing import Any

from anomaly_detector.domain.baseline import Expectation, SeasonalBaseline
from anomaly_detector.domain.findings import Finding, Suspect, fmt, span
from anomaly_detector.domain.params import DeployParams, StormParams
from anomaly_detector.domain.poisson import log10_tail, threshold, unusualness
from anomaly_detector.domain.signature import SEP, Sig
from anomaly_detector.domain.window import RateWindow

HOUR = 3600.0
RECENT = 20
"""Latest firings kept per signature: a storm's first members and the start of its burst."""
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# (signature, its application names, burst start, unusualness) -> the suspect deploy, if any
SuspectFinder = Callable[[Sig, tuple[str, ...], float, float], Suspect | None]


@dataclass(slots=True)
class OpenStorm:
    """A storm that has started and not ended."""

    key: str
    kind: str
    started: float
    threshold: int
    end_below: int
    expected: float
    score: float
    peak: int
    total: int
    members: dict[str, None] = field(default_factory=dict)
    suspect: Suspect | None = None
    self_resolved: int = 0
    """Member alerts that resolved by themselves within minutes (not reported one by one)."""
    storm_key: str | None = None
    """Key of the `alert_storm` this became a `deploy_regression` of, when the deploy event
    arrived after the storm had started (it is ended too)."""

    def dump(self) -> dict[str, Any]:
        """JSON-ready state."""
        s = self.suspect
        return {
            "key": self.key,
            "kind": self.kind,
            "started": self.started,
            "threshold": self.threshold,
            "end_below": self.end_below,
            "expected": self.expected,
            "score": self.score,
            "peak": self.peak,
            "total": self.total,
            "members": list(self.members),
            "suspect": None if s is None else list(astuple(s)),
            "storm_key": self.storm_key,
            "self_resolved": self.self_resolved,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> OpenStorm:
        """Restore from `dump()`."""
        suspect = data.pop("suspect")
        members = dict.fromkeys(data.pop("members"))
        data.setdefault("storm_key", None)
        data.setdefault("self_resolved", 0)
        storm = cls(**data, members=members)
        storm.suspect = None if suspect is None else Suspect(*suspect)
        return storm


class SigState:
    """Everything the storm detector keeps per signature."""

    __slots__ = (
        "apps",
        "base_dirty",
        "baseline",
        "deploy_at",
        "expect",
        "expected",
        "hour",
        "recent",
        "sig",
        "storm",
        "storm_at",
        "transient_at",
        "transient_held",
        "window",
    )

    def __init__(self, sig: Sig, apps: tuple[str, ...], p: StormParams) -> None:
        self.sig = sig
        self.apps = apps
        self.window = RateWindow(p.window_seconds / p.buckets, p.buckets)
        self.baseline = SeasonalBaseline(p.daily_alpha, p.weekly_alpha, p.overall_alpha)
        self.recent: deque[tuple[str, float]] = deque(maxlen=min(RECENT, p.max_members))
        self.storm: OpenStorm | None = None
        self.transient_at = float("-inf")
        """When a transient alert of this signature was last reported."""
        self.transient_held = 0
        """Transient alerts of this signature not reported since (within the cooldown)."""
        self.base_dirty = False
        self.hour = -1
        """The hour the cached expectation and thresholds below are for."""
        self.expect: Expectation | None = None
        self.expected = 0.0
        self.storm_at = 0
        self.deploy_at = 0

    def dump(self) -> dict[str, Any]:
        """JSON-ready state, without the baseline (kept under its own key: it changes hourly)."""
        return {
            "apps": list(self.apps),
            "hour": self.baseline.dump_counter(),
            "window": self.window.dump(),
            "recent": [list(r) for r in self.recent],
            "storm": None if self.storm is None else self.storm.dump(),
            "transient": [max(self.transient_at, -1.0), self.transient_held],
        }

    def load(self, data: dict[str, Any]) -> None:
        """Restore from `dump()`."""
        self.apps = tuple(data["apps"])
        self.baseline.load_counter(data["hour"])
        self.window.load(data["window"])
        self.recent.extend((fp, t) for fp, t in data["recent"])
        at, self.transient_held = data.get("transient", [-1.0, 0])
        self.transient_at = float("-inf") if at < 0 else at
        self.storm = None if data["storm"] is None else OpenStorm.load(data["storm"])


class StormDetector:
    """Opens and closes storms per signature; see the module docstring."""

    def __init__(self, p: StormParams, d: DeployParams, suspects: SuspectFinder) -> None:
        self.p = p
        self.d = d
        self.suspects = suspects

    def new_state(self, sig: Sig, apps: tuple[str, ...]) -> SigState:
        """Fresh state for a signature seen for the first time."""
        return SigState(sig, apps, self.p)

    def on_firing(self, st: SigState, fingerprint: str, t: float) -> list[Finding]:
        """Count a new firing at `t`: maybe the previous storm's end, maybe a storm's start."""
        out: list[Finding] = []
        storm = st.storm
        if storm is not None and st.window.bucket(t) > st.window.head:
            ends = st.window.falls_below(storm.end_below)
            if ends <= t:
                out += self.close(st, ends)
        hour = int(t // HOUR)
        if hour > st.hour:
            self._refresh(st, hour)
        st.baseline.add(hour)
        if not st.window.add(t):
            return out  # older than the window: learnt, not counted
        st.recent.append((fingerprint, t))
        storm = st.storm
        count = st.window.total
        if storm is not None:
            storm.total += 1
            if len(storm.members) < self.p.max_members:
                storm.members[fingerprint] = None
            storm.peak = max(storm.peak, count)
        elif count >= st.deploy_at and (opened := self._open(st, t, count)) is not None:
            out.append(opened)
        return out

    def due(self, st: SigState, now: float) -> list[Finding]:
        """The open storm's end, once `now` has passed it."""
        if st.storm is None:
            return []
        ends = st.window.falls_below(st.storm.end_below)
        return self.close(st, ends) if ends <= now else []

    def _refresh(self, st: SigState, hour: int) -> None:
        """New hour: fold the last one into the baseline, recompute expectation and thresholds."""
        p, d = self.p, self.d
        if st.baseline.hour >= 0 and hour > st.baseline.hour:
            before = st.baseline.expect(st.baseline.hour, p.prior_per_hour, p.shrink)
            # a storm teaches the baseline at most a minimal storm's hourly rate (or 3x the
            # expected): daily bursts are learnt within days, one big storm does not blind it
            cap = max(before.per_hour * p.min_ratio, p.min_alerts * HOUR / p.window_seconds)
            st.base_dirty |= st.baseline.roll(hour, cap)
        st.expect = st.baseline.expect(hour, p.prior_per_hour, p.shrink)
        st.expected = st.expect.per_hour * p.window_seconds / HOUR
        st.storm_at = threshold(st.expected, p.min_alerts, p.min_ratio, p.max_p_value)
        deploy_at = threshold(st.expected, d.min_alerts, d.min_ratio, d.max_p_value)
        st.deploy_at = min(st.storm_at, deploy_at)
        st.hour = hour

    def _open(self, st: SigState, t: float, count: int) -> Finding | None:
        """Start a storm (or a deploy regression) if the count is enough for one."""
        start = self._burst_start(st)
        unusual = unusualness(count, st.expected)
        suspect = self.suspects(st.sig, st.apps, start, unusual)
        if suspect is not None:
            kind, limit, score = "deploy_regression", st.deploy_at, suspect.score
        elif count >= st.storm_at:
            kind, limit, score = "alert_storm", st.storm_at, unusual
        else:
            return None
        oldest = st.window.head - len(st.window.counts) + 1
        members = dict.fromkeys(fp for fp, ft in st.recent if st.window.bucket(ft) >= oldest)
        storm = OpenStorm(
            key=SEP.join(("storm", st.sig.key, str(st.window.bucket(start)))),
            kind=kind,
            started=start,
            threshold=limit,
            end_below=max(1, math.ceil(self.p.end_fraction * limit)),
            expected=st.expected,
            score=score,
            peak=count,
            total=count,
            members=members,
            suspect=suspect,
        )
        st.storm = storm
        return Finding(
            kind=kind,
            phase="started",
            key=storm.key,
            score=score,
            sig=st.sig,
            window_start=start,
            window_end=t,
            at=t,
            summary=self._summary(st, count, suspect),
            evidence=self._evidence(st, t, count, limit, suspect),
            members=list(members),
            suspect=suspect,
        )

    def _burst_start(self, st: SigState) -> float:
        """When the burst in the window began: its first firing (to the bucket, if not recent)."""
        w = st.window
        oldest = w.head - len(w.counts) + 1
        first_bucket = next(b for b in range(oldest, w.head + 1) if w.counts[b % len(w.counts)] > 0)
        first_recent = min((ft for _, ft in st.recent if w.bucket(ft) >= oldest), default=None)
        if first_recent is not None and w.bucket(first_recent) == first_bucket:
            return first_recent
        return first_bucket * w.width

    def _summary(self, st: SigState, count: int, suspect: Suspect | None) -> str:
        window = span(self.p.window_seconds)
        if suspect is not None:
            return (
                f"{st.sig.describe()}: {count} new alerts in {window}, "
                f"{span(max(0.0, suspect.seconds_before))} after {suspect.application} was "
                f"deployed (revision {suspect.revision[:12] or 'unknown'})"
            )
        return (
            f"Alert storm: {st.sig.describe()} fired {count} times in {window} "
            f"(expected {fmt(st.expected)})"
        )

    def _evidence(
        self, st: SigState, t: float, count: int, limit: int, suspect: Suspect | None
    ) -> dict[str, str]:
        p, hour = self.p, int(t // HOUR)
        e = st.expect or st.baseline.expect(hour, p.prior_per_hour, p.shrink)
        weekday = DAYS[(hour // 24 + 3) % 7]  # 1970-01-01 was a Thursday
        window = span(p.window_seconds)
        floor, ratio, max_p = (
            (p.min_alerts, p.min_ratio, p.max_p_value)
            if suspect is None
            else (self.d.min_alerts, self.d.min_ratio, self.d.max_p_value)
        )
        evidence = {
            "observed": f"{count} new firings in the last {window}",
            "expected": f"{fmt(st.expected)} in {window}",
            "ratio": f"{fmt(count / st.expected)}x" if st.expected > 0 else "n/a",
            "threshold": f"{limit} (at least {floor}, {fmt(ratio)}x expected, "
            f"Poisson p <= {fmt(max_p)})",
            "p_value": fmt(10 ** log10_tail(count, st.expected)),
            "baseline_per_hour": fmt(e.per_hour),
            "baseline": f"{weekday} {hour % 24:02d}:00 UTC: this hour of the week "
            f"{fmt(e.weekly)}/h over {e.weeks} weeks, this hour of the day {fmt(e.daily)}/h "
            f"over {e.days} days, overall {fmt(e.overall)}/h over {e.hours} hours, "
            f"prior {fmt(p.prior_per_hour)}/h",
            "page": "true",
        }
        if suspect is not None:
            evidence.update(
                suspect_application=suspect.application,
                suspect_revision=suspect.revision,
                suspect_topology=suspect.topology,
                deployed_before_burst=span(max(0.0, suspect.seconds_before)),
                suspect_score=fmt(suspect.score),
            )
        return evidence

    def blame(self, st: SigState, suspect: Suspect, at: float) -> Finding:
        """A deploy reported after its storm began: the storm becomes a deploy regression."""
        storm = st.storm
        assert storm is not None and storm.suspect is None
        storm.storm_key, storm.key = storm.key, storm.key + SEP + "deploy"
        storm.kind, storm.suspect, storm.score = "deploy_regression", suspect, suspect.score
        count = st.window.total
        evidence = self._evidence(st, at, count, storm.threshold, suspect)
        evidence["deploy_reported"] = "after the burst had started (it was an alert storm)"
        return Finding(
            kind=storm.kind,
            phase="started",
            key=storm.key,
            score=storm.score,
            sig=st.sig,
            window_start=storm.started,
            window_end=max(at, storm.started),
            at=max(at, storm.started),
            summary=self._summary(st, count, suspect),
            evidence=evidence,
            members=list(storm.members),
            suspect=suspect,
        )

    def close(self, st: SigState, ends: float) -> list[Finding]:
        """The storm's `ended` finding(s); the signature has no open storm afterwards."""
        storm = st.storm
        assert storm is not None
        st.storm = None
        window = span(self.p.window_seconds)
        ended = Finding(
            kind=storm.kind,
            phase="ended",
            key=storm.key,
            score=storm.score,
            sig=st.sig,
            window_start=storm.started,
            window_end=ends,
            at=ends,
            summary=f"Over: {st.sig.describe()}, {storm.total} new alerts in "
            f"{span(ends - storm.started)} (peak {storm.peak} in {window})",
            evidence={
                "total": str(storm.total),
                "peak": f"{storm.peak} new firings in {window}",
                "duration": span(ends - storm.started),
                "ended_when": f"fewer than {storm.end_below} new firings in {window}",
                "expected": f"{fmt(storm.expected)} in {window}",
                "resolved_by_themselves": str(storm.self_resolved),
                "page": "false",
            },
            members=list(storm.members),
            suspect=storm.suspect,
        )
        if storm.storm_key is None:
            return [ended]
        return [ended, replace(ended, kind="alert_storm", key=storm.storm_key)]
