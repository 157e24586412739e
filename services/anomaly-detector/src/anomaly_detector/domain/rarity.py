"""Rare and novel signatures: an alert name / label set never, or seldom, seen for a service.

Each signature (service, namespace, alert name, severity, label names) keeps a count of its new
firings that halves every `half_life_seconds`. Never seen: novel. Seen, but the decayed count is
under `seldom_below`: rare. Either is reported at most once per `cooldown_seconds`, so the tenth
copy of a new alert in a storm says nothing new.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from anomaly_detector.domain.findings import Finding, fmt, span
from anomaly_detector.domain.params import RareParams
from anomaly_detector.domain.signature import SEP, Sig

NEVER = float("-inf")
LN2 = math.log(2.0)


@dataclass(slots=True)
class RareState:
    """How often one signature was seen."""

    count: float
    """Decayed count of new firings, as of `at`."""
    at: float
    first: float
    total: int
    reported: float = NEVER

    def dump(self) -> list[Any]:
        """JSON-ready state."""
        return [self.count, self.at, self.first, self.total, max(self.reported, -1.0)]

    @classmethod
    def load(cls, data: list[Any]) -> RareState:
        """Restore from `dump()`."""
        count, at, first, total, reported = data
        return cls(count, at, first, total, NEVER if reported < 0 else reported)


class RareSignatures:
    """Decides whether a new firing's signature is novel or rare (see the module docstring)."""

    def __init__(self, p: RareParams, severity_score: dict[str, float], default: float):
        self.p = p
        self.severity_score = severity_score
        self.default_score = default

    def decayed(self, st: RareState, t: float) -> float:
        """The count as of `t`."""
        if t <= st.at:
            return st.count
        return st.count * math.exp(-LN2 * (t - st.at) / self.p.half_life_seconds)

    def on_firing(
        self,
        st: RareState | None,
        key: str,
        sig_key: str,
        severity: str,
        fingerprint: str,
        t: float,
        learning: bool,
    ) -> tuple[RareState, Finding | None]:
        """Count the firing; a finding when the signature is novel or rare and not in cooldown."""
        if st is None:
            st = RareState(0.0, t, t, 0)
            before, novel = 0.0, True
        else:
            before, novel = self.decayed(st, t), False
        seen_total, last_seen = st.total, st.at
        st.count, st.at, st.total = before + 1.0, max(t, st.at), st.total + 1
        rare = novel or before < self.p.seldom_below
        if learning or not rare or t - st.reported < self.p.cooldown_seconds:
            return st, None
        st.reported = t
        sig = Sig.from_key(sig_key)
        base = self.severity_score.get(severity, self.default_score)
        score = base if novel else 0.7 * base
        _, _, _, _, names = key.split(SEP)
        seen = "never" if novel else f"{seen_total} times, last {span(t - last_seen)} ago"
        what = "New alert" if novel else "Rare alert"
        return st, Finding(
            kind="rare_signature",
            phase="started",
            key=SEP.join(("rare", key, repr(t))),
            score=score,
            sig=sig,
            window_start=t,
            window_end=t,
            at=t,
            summary=f"{what}: {sig.describe()} ({severity}) "
            + ("was never seen before" if novel else f"seen only {seen_total} times before"),
            evidence={
                "seen_before": seen,
                "decayed_count": f"{fmt(before)} (half-life {span(self.p.half_life_seconds)}, "
                f"rare below {fmt(self.p.seldom_below)})",
                "label_names": names,
                "severity": severity,
                "page": "true",
            },
            members=[fingerprint],
        )
