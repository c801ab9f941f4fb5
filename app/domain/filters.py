"""Which releases a reader asks for (`ReleaseFilter`) and may see (`Scope`).

A key's scope limits any of four dimensions of a release to a set of allowed values; a key
without one sees everything its roles allow. The scope is applied in one place, the release
query layer (app/db/release_filters.py), which every read goes through.

Plain values and pure functions, so that the services build them and the store queries by
them, with neither owning the other's types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

# The dimensions a scope (or a subscription's filter) limits, and the release field of each.
DIMENSIONS: Final = {
    "prisons": "prison",
    "probation_regions": "probation_region",
    "local_authorities": "local_authority",
    "community_providers": "community_provider",
}


@dataclass(frozen=True)
class Scope:
    """The releases a scoped key may see.

    Each dimension is None (no limit) or the values allowed in it. A release is in scope when,
    in every limited dimension, its value is one of those allowed; a release with no value in a
    limited dimension is not.
    """

    prisons: frozenset[str] | None = None
    probation_regions: frozenset[str] | None = None
    local_authorities: frozenset[str] | None = None
    community_providers: frozenset[str] | None = None


def scope_of(limits: Mapping[str, Iterable[str] | None] | None) -> Scope | None:
    """The scope these limits describe (prisons upper-cased); None when nothing is limited.

    An empty list of allowed values admits nothing: a malformed scope fails closed.
    """
    if limits is None:
        return None
    allowed = {dimension: _allowed(dimension, limits.get(dimension)) for dimension in DIMENSIONS}
    if all(values is None for values in allowed.values()):
        return None
    return Scope(**allowed)


def _allowed(dimension: str, values: Iterable[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    if dimension == "prisons":
        return frozenset(value.upper() for value in values)
    return frozenset(values)


def stored(scope: Scope | None) -> dict[str, list[str]] | None:
    """The scope as JSON: each limited dimension with its sorted values; None when unscoped."""
    if scope is None:
        return None
    return {
        dimension: sorted(values)
        for dimension in DIMENSIONS
        if (values := getattr(scope, dimension)) is not None
    }


def within(inner: Scope | None, outer: Scope | None) -> bool:
    """Whether every release `inner` admits, `outer` admits too (None: unscoped, everything)."""
    if outer is None:
        return True
    if inner is None:
        return False
    for dimension in DIMENSIONS:
        allowed = getattr(outer, dimension)
        if allowed is None:
            continue
        asked = getattr(inner, dimension)
        if asked is None or not asked <= allowed:
            return False
    return True


@dataclass(frozen=True)
class ReleaseFilter:
    """The releases a gap list or a metric is over: as of `as_of`, in every field given."""

    as_of: date
    stage: str | None = None
    open_flags: frozenset[str] = frozenset()
    prison: str | None = None
    probation_region: str | None = None
    local_authority: str | None = None
    community_provider: str | None = None
    released_from: date | None = None
    released_to: date | None = None
    scope: Scope | None = None


@dataclass(frozen=True)
class PageKey:
    """A position in the gap-list order: released_on descending, then release_id."""

    released_on: date
    release_id: str
