"""The token bucket keeps each destination under its provider's limit."""

from __future__ import annotations

import pytest

from notifier.domain.token_bucket import TokenBucket, per_minute


def test_the_first_message_goes_at_once_and_the_next_waits_a_full_interval() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1)
    assert bucket.take(100.0) == 0.0
    assert bucket.take(100.0) == pytest.approx(1.0)


def test_a_burst_is_spent_before_waiting() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=3)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(1.0)


def test_waiting_callers_are_spaced_out_not_released_together() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=1)
    waits = [bucket.take(0.0) for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.5, 1.0, 1.5])


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=2)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.take(10.0) == 0.0  # refilled to 2 (not 10), one taken
    assert bucket.take(10.0) == 0.0
    assert bucket.take(10.0) == pytest.approx(1.0)


def test_pagerduty_limit_of_120_per_minute_is_two_per_second() -> None:
    bucket = TokenBucket(rate_per_s=per_minute(120), burst=1)
    bucket.take(0.0)
    assert bucket.take(0.0) == pytest.approx(0.5)


def test_a_bucket_that_could_never_send_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        TokenBucket(rate_per_s=0, burst=1)
