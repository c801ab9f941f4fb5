"""Release records over time: one row per release per range of as-of dates.

Gap lists and metrics for any as-of date D read the row of each release whose range covers D
(`valid_from <= D < valid_until`), so they are plain indexed queries, on any day, with no job
moving records on as time passes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.release_filters import Shape, conditions, covering, filter_values, scope_values
from app.db.sets import among
from app.db.tables import IdentifierRow, ReleaseVersionRow, table
from app.domain.filters import PageKey, ReleaseFilter, Scope

version = table(ReleaseVersionRow)
identifier = table(IdentifierRow)


async def in_scope_of_person(
    conn: AsyncConnection, person_id: str, scope: Scope, as_of: date | None
) -> dict[str, set[date]]:
    """The ids of a person's releases that `scope` admits, as of `as_of`, or ever when None,
    each with the release dates its versions admitted have had."""
    limits = scope_values(scope)
    query = select(version.c.release_id, version.c.released_on).distinct()
    query = query.where(version.c.person_id == bindparam("person_id"), *conditions(tuple(limits)))
    if as_of is not None:
        query = query.where(covering(bindparam("as_of")))
    found = await conn.execute(query, {"person_id": person_id, "as_of": as_of, **limits})
    admitted: dict[str, set[date]] = {}
    for release_id, released_on in found:
        admitted.setdefault(release_id, set()).add(released_on)
    return admitted


def _after(released_on: Any, release_id: Any) -> ColumnElement[bool]:
    """After the release (released_on, release_id) in gap-list order."""
    return or_(
        version.c.released_on < released_on,
        and_(version.c.released_on == released_on, version.c.release_id > release_id),
    )


# The record as the text it is stored as, which goes out as it is (app/services/views.py); a JSON
# null, as SQLAlchemy stores None in a JSON column, is no record, as SQL's NULL is.
_RECORD_TEXT = func.nullif(cast(version.c.record, Text), "null", type_=Text).label("record")
_SHOWN = (version.c.release_id, version.c.person_id, version.c.released_on, _RECORD_TEXT)


class ShownRow(NamedTuple):
    """A release version as shown: its stored record is None in versions stored before it was
    kept. A plain tuple: reading a SQLAlchemy Row's field by name costs ten times this."""

    release_id: str
    person_id: str
    released_on: date
    record: str | None


@dataclass(frozen=True)
class Shown:
    """Release versions, and their people's identifiers by person id ({scheme: value}, a
    scheme's first value in order)."""

    rows: list[ShownRow]
    identifiers: dict[str, dict[str, str]]


def _none_as(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return type_coerce(null(), column.type).label(column.key)


def _first_values(rows: Iterable[Any]) -> dict[str, dict[str, str]]:
    """{person_id: {scheme: value}} from `_with_identifiers`' identifier rows; a person known by
    two values of one scheme shows the first of them."""
    known: dict[str, dict[str, str]] = {}
    # By position: a Row's attribute costs ten times its index, and a page has a hundred.
    for _, person_id, _, _, scheme, value in sorted(rows, key=itemgetter(5)):
        known.setdefault(person_id, {}).setdefault(scheme, value)
    return known


def _with_identifiers(releases: Select[Any], people: ColumnElement[bool]) -> Any:
    """`releases` (selecting `_SHOWN`), then the identifiers of the `people` as rows of their
    own (release_id None): the records and the names they are shown with, in one statement."""
    names = select(
        _none_as(version.c.release_id),
        identifier.c.person_id,
        _none_as(version.c.released_on),
        _none_as(_RECORD_TEXT),
        identifier.c.scheme,
        identifier.c.value,
    ).where(people)
    named = releases.add_columns(_none_as(identifier.c.scheme), _none_as(identifier.c.value))
    return union_all(named, names)


async def _shown(conn: AsyncConnection, query: Any, params: Mapping[str, Any]) -> Shown:
    """The rows of a `_with_identifiers` query, releases in gap-list order (released_on
    descending, then release_id)."""
    releases: list[ShownRow] = []
    names: list[Row[Any]] = []
    for row in (await conn.execute(query, params)).all():
        if row[0] is None:
            names.append(row)
        else:
            releases.append(ShownRow(row[0], row[1], row[2], row[3]))
    releases.sort(key=itemgetter(0))
    releases.sort(key=itemgetter(2), reverse=True)
    return Shown(releases, _first_values(names))


@lru_cache(maxsize=256)
def _page(dialect: str, shape: Shape, continued: bool) -> Any:
    query = select(*_SHOWN).where(covering(bindparam("as_of")), *conditions(shape))
    if continued:
        query = query.where(_after(bindparam("after_on"), bindparam("after_id")))
    order = (version.c.released_on.desc(), version.c.release_id)
    chosen = query.order_by(*order).limit(bindparam("limit")).cte("chosen")
    shown = select(*(chosen.c[column.key] for column in _SHOWN))
    people = among(dialect, identifier.c.person_id, select(chosen.c.person_id))
    return _with_identifiers(shown, people)


async def page(
    conn: AsyncConnection, where: ReleaseFilter, after: PageKey | None, limit: int
) -> Shown:
    """The next `limit` matching releases, with their people's identifiers."""
    values = filter_values(where)
    query = _page(conn.dialect.name, tuple(values), after is not None)
    values.update(as_of=where.as_of, limit=limit)
    if after is not None:
        values.update(after_on=after.released_on, after_id=after.release_id)
    return await _shown(conn, query, values)


async def walk(conn: AsyncConnection, where: ReleaseFilter, chunk: int) -> AsyncIterator[Shown]:
    """Every matching release, a chunk at a time, in gap-list order."""
    after: PageKey | None = None
    while True:
        shown = await page(conn, where, after, chunk)
        if not shown.rows:
            return
        yield shown
        after = PageKey(shown.rows[-1].released_on, shown.rows[-1].release_id)


@lru_cache(maxsize=16)
def _named_by(limited: Shape) -> Any:
    # The identifier's owner, as a subquery, picks both their releases and their identifiers.
    owner = (
        select(identifier.c.person_id)
        .where(identifier.c.scheme == bindparam("scheme"), identifier.c.value == bindparam("value"))
        .scalar_subquery()
    )
    releases = select(*_SHOWN).where(
        version.c.person_id == owner,
        version.c.valid_from <= bindparam("as_of"),
        # Not `_covering`: its OR can tempt the planner into scanning every open-ended version
        # (the valid_until index) when statistics are stale; this form leaves it the person.
        func.coalesce(version.c.valid_until, date.max) > bindparam("as_of"),
    )
    releases = releases.where(*conditions(limited))
    return _with_identifiers(releases, identifier.c.person_id == owner)


async def named_by(
    conn: AsyncConnection, scheme: str, value: str, as_of: date, scope: Scope | None
) -> tuple[str | None, Shown]:
    """Who (scheme, value) names (None: nobody), with their releases as of `as_of` that `scope`
    admits (all when None), newest first, and their identifiers: the handover view's one read."""
    limits = scope_values(scope)
    params = {"scheme": scheme, "value": value, "as_of": as_of, **limits}
    shown = await _shown(conn, _named_by(tuple(limits)), params)
    # Whoever the identifier names has that identifier among their own.
    person_id = next(iter(shown.identifiers), None)
    return person_id, shown
