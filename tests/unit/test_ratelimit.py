"""The per-key token bucket, on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from app.api.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spend(limiter: RateLimiter, key: str, times: int) -> list[int]:
    return [limiter.take(key) for _ in range(times)]


def test_a_full_bucket_allows_a_minutes_worth_at_once_then_refuses() -> None:
    limiter = RateLimiter(60, Clock())
    assert spend(limiter, "k", 60) == [0] * 60
    assert limiter.take("k") == 1


def test_tokens_come_back_at_the_per_minute_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock)  # one token every 10 s
    assert spend(limiter, "k", 6) == [0] * 6
    assert limiter.take("k") == 10
    clock.now += 4
    assert limiter.take("k") == 6
    clock.now += 6
    assert limiter.take("k") == 0
    assert limiter.take("k") == 10


def test_refused_requests_spend_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock)
    spend(limiter, "k", 60)
    assert spend(limiter, "k", 100) == [1] * 100
    clock.now += 1
    assert limiter.take("k") == 0


def test_the_bucket_never_holds_more_than_a_minutes_worth() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock)
    limiter.take("k")
    clock.now += 3600
    assert spend(limiter, "k", 60) == [0] * 60
    assert limiter.take("k") == 1


def test_each_key_has_its_own_bucket() -> None:
    limiter = RateLimiter(2, Clock())
    assert spend(limiter, "a", 3) == [0, 0, 30]
    assert spend(limiter, "b", 2) == [0, 0]


@pytest.mark.parametrize(("per_minute", "wait"), [(1, 60), (7, 9), (6000, 1), (100_000, 1)])
def test_retry_after_is_whole_seconds_and_at_least_one(per_minute: int, wait: int) -> None:
    limiter = RateLimiter(per_minute, Clock())
    spend(limiter, "k", per_minute)
    assert limiter.take("k") == wait


def test_a_clock_that_goes_backwards_adds_no_tokens() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock)
    spend(limiter, "k", 2)
    clock.now -= 100
    assert limiter.take("k") == 30


def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(0, Clock())
    assert not limiter.enabled
    assert spend(limiter, "k", 10_000) == [0] * 10_000
