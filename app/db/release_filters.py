"""A release filter and a key's scope as conditions on stored release versions: the one place
either becomes SQL, which every read of releases (lists, the handover view, metrics) goes
through."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Final

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, or_

from app.db.tables import ReleaseVersionRow, table
from app.domain.filters import DIMENSIONS, ReleaseFilter, Scope
from app.domain.vocabulary import FLAG_BITS

version = table(ReleaseVersionRow)


def flag_mask(codes: Iterable[str]) -> int:
    mask = 0
    for code in codes:
        mask |= FLAG_BITS[code]
    return mask


def covering(as_of: date | BindParameter[date]) -> ColumnElement[bool]:
    return and_(
        version.c.valid_from <= as_of,
        or_(version.c.valid_until.is_(None), version.c.valid_until > as_of),
    )


# A filter's optional conditions, by the name its value is bound to. Statements are built once
# per set of conditions given (a filter's shape), with every value bound: building a gap-list
# statement took a fifth of the request.
_EQUAL: Final = ("stage", "prison", "probation_region", "local_authority", "community_provider")
_OPTIONAL: Final = (*_EQUAL, "open_flags", "released_from", "released_to")
_SCOPED: Final = {f"scope_{dimension}": column for dimension, column in DIMENSIONS.items()}

Shape = tuple[str, ...]


def scope_values(scope: Scope | None) -> dict[str, list[str]]:
    """The values each dimension `scope` limits allows, by the name they are bound to."""
    if scope is None:
        return {}
    limits = ((name, getattr(scope, name.removeprefix("scope_"))) for name in _SCOPED)
    return {name: sorted(allowed) for name, allowed in limits if allowed is not None}


def filter_values(where: ReleaseFilter) -> dict[str, Any]:
    """The values of the conditions `where` gives (as_of aside), by the name each is bound to."""
    values = {name: getattr(where, name) for name in _OPTIONAL if name != "open_flags"}
    values = {name: value for name, value in values.items() if value is not None}
    if where.open_flags:
        values["open_flags"] = flag_mask(where.open_flags)
    values.update(scope_values(where.scope))
    return values


def _condition(name: str) -> ColumnElement[bool]:
    """The condition whose value is bound as `name`.

    The scope's, AND across dimensions and OR within one, is the one place a key's scope
    becomes SQL: a release with no value in a limited dimension is not in scope.
    """
    if name in _SCOPED:
        return version.c[_SCOPED[name]].in_(bindparam(name, expanding=True))
    if name == "open_flags":
        mask: BindParameter[int] = bindparam("open_flags")
        return version.c.open_flags.op("&")(mask) == mask
    if name == "released_from":
        return version.c.released_on >= bindparam(name)
    if name == "released_to":
        return version.c.released_on <= bindparam(name)
    return version.c[name] == bindparam(name)


def conditions(shape: Shape) -> list[ColumnElement[bool]]:
    return [_condition(name) for name in shape]
