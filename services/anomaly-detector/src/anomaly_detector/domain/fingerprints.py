"""Per alert (fingerprint): new firings vs repeats, flapping and transient (self-resolving).

- A firing is new when its `starts_at` is later than the last one seen for the fingerprint;
  Alertmanager's re-sends of a firing alert (same `starts_at`) are repeats and count for nothing.
- Flapping: `min_cycles` new firings of one fingerprint within `window_seconds` (it resolved and
  fired again in between). One anomaly per episode; it ends `quiet_seconds` after the last new
  firing.
- Transient: an alert that resolved by itself within `transient_max_seconds` of its start
  (PagerDuty's auto-pause idea). Marked `page: false`: nobody needs to be woken for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anomaly_detector.domain.findings import Finding, fmt, span
from anomaly_detector.domain.params import FlappingParams
from anomaly_detector.domain.signature import SEP, Sig


@dataclass(slots=True)
class FpState:
    """What is kept per fingerprint."""

    sig_key: str
    rare_key: str
    severity: str
    starts_at: float
    """`starts_at` of the latest firing seen."""
    firing: bool
    starts: tuple[float, ...]
    """`starts_at` of the latest new firings (at most `min_cycles`)."""
    flap_since: float | None = None
    """Start of the open flapping episode, if any."""
    flap_count: int = 0

    def dump(self) -> tuple[Any, ...]:
        """JSON-ready state."""
        return (
            self.sig_key,
            self.rare_key,
            self.severity,
            self.starts_at,
            self.firing,
            self.starts,
            self.flap_since,
            self.flap_count,
        )

    @classmethod
    def load(cls, data: list[Any], cycles: int) -> FpState:
        """Restore from `dump()`."""
        sig_key, rare_key, severity, starts_at, firing, starts, since, count = data
        return cls(
            sig_key, rare_key, severity, starts_at, firing, tuple(starts[-cycles:]), since, count
        )


class FlapTracker:
    """Flapping and transient findings from the fire/resolve history of one fingerprint."""

    def __init__(self, p: FlappingParams, severity_score: dict[str, float], default: float):
        self.p = p
        self.severity_score = severity_score
        self.default_score = default

    def new_state(self, sig: Sig, rare_key: str, severity: str) -> FpState:
        """State for a fingerprint seen for the first time (no firing counted yet)."""
        return FpState(sig.key, rare_key, severity, float("-inf"), False, ())

    def on_firing(self, st: FpState, fingerprint: str, starts_at: float) -> list[Finding]:
        """A new firing: the end of a quiet flapping episode, or the start of one."""
        out: list[Finding] = []
        if st.flap_since is not None and starts_at >= st.starts[-1] + self.p.quiet_seconds:
            out.append(self.close(st, fingerprint))
        st.starts_at = starts_at
        st.firing = True
        st.starts = (*st.starts[1 - self.p.min_cycles :], starts_at)
        if st.flap_since is not None:
            st.flap_count += 1
            return out
        first = st.starts[0]
        if len(st.starts) == self.p.min_cycles and starts_at - first <= self.p.window_seconds:
            st.flap_since, st.flap_count = first, len(st.starts)
            out.append(self._flapping(st, fingerprint, starts_at))
        return out

    def on_resolved(
        self, st: FpState, fingerprint: str, starts_at: float, ends_at: float
    ) -> list[Finding]:
        """The alert resolved: transient if it did so within minutes of its start."""
        if not st.firing or starts_at != st.starts_at:
            return []  # a repeat, or the end of an older firing than the last one seen
        st.firing = False
        lasted = ends_at - starts_at
        if lasted > self.p.transient_max_seconds or st.flap_since is not None or lasted < 0:
            return []  # a flapping episode already says it all
        sig = Sig.from_key(st.sig_key)
        score = 0.25 * self.severity_score.get(st.severity, self.default_score)
        return [
            Finding(
                kind="transient",
                phase="started",
                key=SEP.join(("transient", fingerprint, repr(starts_at))),
                score=score,
                sig=sig,
                window_start=starts_at,
                window_end=ends_at,
                at=ends_at,
                summary=f"Transient: {sig.describe()} resolved by itself after {span(lasted)}; "
                "no need to page",
                evidence={
                    "resolved_after": span(lasted),
                    "transient_if_within": span(self.p.transient_max_seconds),
                    "severity": st.severity,
                    "page": "false",
                },
                members=[fingerprint],
            )
        ]

    def due(self, st: FpState, fingerprint: str, now: float) -> Finding | None:
        """The flapping episode's end, once `quiet_seconds` passed without a new firing."""
        if st.flap_since is None or now < st.starts[-1] + self.p.quiet_seconds:
            return None
        return self.close(st, fingerprint)

    def _flapping(self, st: FpState, fingerprint: str, t: float) -> Finding:
        sig = Sig.from_key(st.sig_key)
        assert st.flap_since is not None
        cycles = len(st.starts)
        score = 0.6 * self.severity_score.get(st.severity, self.default_score)
        return Finding(
            kind="flapping",
            phase="started",
            key=SEP.join(("flapping", fingerprint, repr(st.flap_since))),
            score=score,
            sig=sig,
            window_start=st.flap_since,
            window_end=t,
            at=t,
            summary=f"Flapping: {sig.describe()} fired {cycles} times in "
            f"{span(t - st.flap_since)}, resolving in between",
            evidence={
                "observed": f"{cycles} new firings in {span(t - st.flap_since)}",
                "threshold": f"{self.p.min_cycles} new firings within "
                f"{span(self.p.window_seconds)}",
                "mean_cycle": span((t - st.flap_since) / max(1, cycles - 1)),
                "severity": st.severity,
                "page": "false",
            },
            members=[fingerprint],
        )

    def close(self, st: FpState, fingerprint: str) -> Finding:
        """The flapping episode's `ended` finding."""
        since = st.flap_since
        assert since is not None
        last = st.starts[-1]
        ends = last + self.p.quiet_seconds
        sig = Sig.from_key(st.sig_key)
        st.flap_since = None
        count, st.flap_count = st.flap_count, 0
        return Finding(
            kind="flapping",
            phase="ended",
            key=SEP.join(("flapping", fingerprint, repr(since))),
            score=0.6 * self.severity_score.get(st.severity, self.default_score),
            sig=sig,
            window_start=since,
            window_end=ends,
            at=ends,
            summary=f"Flapping over: {sig.describe()} fired {count} times in "
            f"{span(last - since)}, then none for {span(self.p.quiet_seconds)}",
            evidence={
                "total_firings": str(count),
                "mean_cycle": span((last - since) / max(1, count - 1)),
                "quiet_for": span(self.p.quiet_seconds),
                "rate_per_hour": fmt(3600.0 * count / max(1.0, last - since)),
                "page": "false",
            },
            members=[fingerprint],
        )
