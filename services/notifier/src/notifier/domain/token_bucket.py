"""A token bucket per destination, to stay under a provider's rate limit (pure: pass `now`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate_per_s` tokens a second, at most `burst` saved up; one token per message."""

    rate_per_s: float
    burst: float
    _tokens: float = field(init=False)
    _at: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self._tokens = self.burst

    def take(self, now: float) -> float:
        """Reserve one token; seconds to wait before sending (0 when one is available now).

        The token is reserved even when the caller must wait, so callers that take in turn
        are spaced out instead of all waking at the same instant.
        """
        if self._at is not None:
            elapsed = max(0.0, now - self._at)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)
        self._at = now
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate_per_s


def per_minute(count: float) -> float:
    """A per-minute provider limit as a rate per second (PagerDuty: 120/min)."""
    return count / 60.0
