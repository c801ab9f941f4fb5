"""The per-process memory of found keys, on a clock the test moves by hand."""

from __future__ import annotations

from app.services.keys import KeyCache, hash_secret
from app.services.principal import Principal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def principal(key_id: str = "k1") -> Principal:
    return Principal(key_id, "ORG", frozenset({"submitter"}))


def test_a_found_key_is_remembered_for_the_configured_seconds() -> None:
    clock = Clock()
    cache = KeyCache(5, clock=clock)
    cache.remember(hash_secret("s1"), principal())
    clock.now += 4.9
    assert cache.recall(hash_secret("s1")) == principal()
    assert cache.recall(hash_secret("s2")) is None
    clock.now += 0.1
    assert cache.recall(hash_secret("s1")) is None


def test_zero_seconds_remembers_nothing() -> None:
    cache = KeyCache(0, clock=Clock())
    cache.remember(hash_secret("s1"), principal())
    assert cache.recall(hash_secret("s1")) is None


def test_the_cache_holds_at_most_its_size_dropping_the_oldest() -> None:
    cache = KeyCache(60, size=3, clock=Clock())
    for n in range(5):
        cache.remember(hash_secret(f"s{n}"), principal(f"k{n}"))
    assert [cache.recall(hash_secret(f"s{n}")) is not None for n in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]


def test_a_forgotten_key_is_not_remembered_again_until_the_seconds_pass() -> None:
    # A lookup that read the key before its change was committed must not bring it back.
    clock = Clock()
    cache = KeyCache(5, clock=clock)
    cache.remember(hash_secret("s1"), principal())
    cache.remember(hash_secret("s2"), principal("k2"))
    cache.forget("k1")
    assert cache.recall(hash_secret("s1")) is None
    assert cache.recall(hash_secret("s2")) == principal("k2")
    cache.remember(hash_secret("s1"), principal())
    assert cache.recall(hash_secret("s1")) is None
    clock.now += 5
    cache.remember(hash_secret("s1"), principal())
    assert cache.recall(hash_secret("s1")) == principal()
