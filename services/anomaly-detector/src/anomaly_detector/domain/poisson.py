"""How surprising a count is under a Poisson baseline, and the smallest surprising count."""

from __future__ import annotations

import math

LN10 = math.log(10.0)
MAX_THRESHOLD = 1_000_000


def log10_tail(count: int, expected: float) -> float:
    """log10 P(X >= count) for X ~ Poisson(expected) (a tight bound for count > expected)."""
    if count <= expected or count <= 0:
        return 0.0
    lam = max(expected, 1e-9)
    log_pmf = count * math.log(lam) - lam - math.lgamma(count + 1)
    # the tail is the pmf times a geometric series of ratio lam/(count+1)
    log_tail = log_pmf - math.log1p(-lam / (count + 1))
    return min(0.0, log_tail / LN10)


def threshold(expected: float, min_count: int, min_ratio: float, max_p: float) -> int:
    """Smallest count >= min_count and >= min_ratio * expected with tail probability <= max_p."""
    count = max(min_count, math.ceil(min_ratio * expected), 1)
    limit = math.log10(max_p)
    # doubling then bisection: O(log count) tail evaluations, once per signature and hour
    if log10_tail(count, expected) <= limit:
        return count
    high = count * 2
    while log10_tail(high, expected) > limit and high < MAX_THRESHOLD:
        high *= 2
    low = count
    while high - low > 1:
        mid = (low + high) // 2
        if log10_tail(mid, expected) <= limit:
            high = mid
        else:
            low = mid
    return high


def unusualness(count: int, expected: float, full_at: float = 10.0) -> float:
    """How unusual `count` is, in [0,1]: 1 once the tail probability is 10**-full_at or less."""
    return min(1.0, max(0.0, -log10_tail(count, expected) / full_at))
