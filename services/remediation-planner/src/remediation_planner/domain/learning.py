"""Learning from verified outcomes: success counts per (incident signature, action) with a
Beta prior.

The posterior mean (alpha + successes) / (alpha + beta + trials) ranks candidates, so one lucky
run moves a well-founded prior only a little. Outcomes are counted once per execution id (a
redelivered RemediationVerified changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prior:
    """Beta(alpha, beta): pseudo-successes and pseudo-failures before any evidence."""

    alpha: float = 1.0
    beta: float = 1.0

    @property
    def mean(self) -> float:
        """Success rate expected before any outcome is known."""
        return self.alpha / (self.alpha + self.beta)


@dataclass
class Tally:
    """Verified outcomes of one action for one incident signature."""

    successes: int = 0
    trials: int = 0


def posterior_mean(tally: Tally, prior: Prior) -> float:
    """Expected success rate after the evidence."""
    return (prior.alpha + tally.successes) / (prior.alpha + prior.beta + tally.trials)


def explain(action: str, tally: Tally, prior: Prior) -> str:
    """The learned rate in words, e.g. 'argocd_rollback resolved 9 of 10 similar incidents ...'."""
    score = posterior_mean(tally, prior)
    if tally.trials == 0:
        return (
            f"{action}: no verified outcome yet for similar incidents of this service "
            f"(prior {score:.2f})"
        )
    return (
        f"{action} resolved {tally.successes} of {tally.trials} similar incidents for this "
        f"service (posterior {score:.2f})"
    )


class Outcomes:
    """Tallies per (signature, action), each execution counted once."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, str], Tally] = {}
        self._counted: set[str] = set()

    def add(self, execution_id: str, signature: str, action: str, *, success: bool) -> bool:
        """Count one verified outcome; False if this execution was already counted."""
        if execution_id in self._counted:
            return False
        self._counted.add(execution_id)
        tally = self._tallies.setdefault((signature, action), Tally())
        tally.trials += 1
        tally.successes += int(success)
        return True

    def tally(self, signature: str, action: str) -> Tally:
        """The outcomes so far (zero when none)."""
        return self._tallies.get((signature, action), Tally())
