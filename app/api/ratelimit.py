"""A token bucket per API key, kept in the process: a guard against runaway clients.

Each key may make `per_minute` requests a minute on average, and up to `per_minute` at once after
a quiet minute. The buckets live in this process only, so with N server processes a key gets up
to N times the limit. That is on purpose: the limit stops a client stuck in a loop from starving
everyone else of the database; it is not a quota anyone is billed against, so it does not need
the shared state (and the extra round trip per request) that an exact global count would.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by key; `clock` gives seconds (monotonic), injectable for tests."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def _refilled(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
        elapsed = max(now - bucket.updated, 0.0)
        bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
        bucket.updated = now
        return bucket

    def charge(self, key: str, tokens: float) -> None:
        """Take `tokens` more from `key`'s bucket for work already done, into debt if need be:
        the key then waits until the bucket has refilled past it."""
        if self.enabled and tokens > 0:
            self._refilled(key).tokens -= tokens

    def take(self, key: str) -> int:
        """Spend one token of `key`'s bucket: 0 when allowed, else whole seconds to wait."""
        if not self.enabled:
            return 0
        bucket = self._refilled(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
