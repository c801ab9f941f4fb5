"""A key's scope: the releases, and the people behind them, that a scoped key may read.

A scope limits any of four dimensions of a release to a set of allowed values; a release is in
scope when, in every limited dimension, its value is one of those allowed. A key without a scope
sees everything its roles allow. The scope is applied in one place, the release query layer
(`app.db.releases`), which every read goes through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from app.db.releases import SCOPE_COLUMNS, ReleaseScope

# The query layer's own value: the scope reaches it as it is, with no copy to keep in step.
Scope = ReleaseScope
DIMENSIONS: Final = tuple(SCOPE_COLUMNS)


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
