"""Release records over time: one row per release per range of as-of dates.

Gap lists and metrics for any as-of date D read the row of each release whose range covers D
(`valid_from <= D < valid_until`), so they are plain indexed queries, on any day, with no job
moving records on as time passes.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, Final, NamedTuple

import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Delete,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.bulk import insert_rows, recordset, rows_json
from app.db.sets import among, array_text, one_of, per_dialect
from app.db.tables import IdentifierRow, ReleaseVersionRow, table
from app.domain.filters import DIMENSIONS, PageKey, ReleaseFilter, Scope
from app.domain.metrics import COUNT_NAMES
from app.domain.vocabulary import FLAG_BITS

version = table(ReleaseVersionRow)
identifier = table(IdentifierRow)

# Bit i of a version's `tally` is COUNT_COLUMNS[i] (migration 0003 fixed this order).
COUNT_COLUMNS: Final = COUNT_NAMES


def flag_mask(codes: Iterable[str]) -> int:
    mask = 0
    for code in codes:
        mask |= FLAG_BITS[code]
    return mask


@per_dialect
def _delete_people(dialect: str) -> Delete:
    return delete(version).where(one_of(dialect, version.c.person_id, "ids"))


_KEY: Final = ("release_id", "valid_from")
_COLUMNS: Final = tuple(version.c.keys())
_VALUES: Final = tuple(column for column in _COLUMNS if column not in _KEY)


def _compared(side: str) -> str:
    """A version's values but its key, as one row value. A record compares as its text: json has
    no equality operator, and a record is stored as the text orjson gave, the same for the same
    record."""
    return (
        "("
        + ", ".join(f"{side}.{c}::text" if c == "record" else f"{side}.{c}" for c in _VALUES)
        + ")"
    )


# On PostgreSQL, a version stored already as given is left as it is (not even locked: the
# person's lock already keeps other writers off it), one that changed is updated in place, a new
# one inserted, and the people's versions not given deleted: one statement, as the upsert and
# the delete touch different rows. Rewriting every version cost a heap row and five index
# entries each, changed or not: the WAL written per one-event post fell from about 5,000 to
# 1,850 bytes (16 clients posting single events over 5,000 people). SQLite deletes and inserts:
# there the write lock is the cost.
_REPLACE: Final = (
    f"WITH given AS MATERIALIZED (SELECT * FROM {recordset(version, _COLUMNS, '%(rows)s')}),"
    f" upserted AS (INSERT INTO {version.name} AS stored ({', '.join(_COLUMNS)})"
    f" SELECT {', '.join(_COLUMNS)} FROM given WHERE NOT EXISTS (SELECT FROM {version.name}"
    f" AS kept WHERE kept.release_id = given.release_id AND kept.valid_from = given.valid_from"
    f" AND {_compared('kept')} IS NOT DISTINCT FROM {_compared('given')})"
    f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET"
    f" {', '.join(f'{c} = excluded.{c}' for c in _VALUES)})"
    f" DELETE FROM {version.name} AS stored WHERE stored.person_id = ANY(%(people)s)"
    " AND NOT EXISTS (SELECT FROM given"
    " WHERE given.release_id = stored.release_id AND given.valid_from = stored.valid_from)"
)


async def replace_for_people(
    conn: AsyncConnection, person_ids: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Make `rows` (each with every column) the whole stored history of these people's
    releases."""
    if conn.dialect.name == "postgresql":
        if person_ids or rows:
            params = {"rows": rows_json(rows), "people": array_text(person_ids)}
            await conn.exec_driver_sql(_REPLACE, params)
        return
    if person_ids:
        await conn.execute(_delete_people(conn.dialect.name), {"ids": list(person_ids)})
    if rows:
        await insert_rows(conn, version, rows)


async def without_records(conn: AsyncConnection) -> list[str]:
    """The people with a stored release version that keeps no record: stored before records
    were kept, or marked out of date by a migration that merged people."""
    query = select(version.c.person_id).where(version.c.record.is_(None)).distinct()
    return sorted((await conn.execute(query)).scalars())


# `_REPLACE` for some releases of some people only: those named by (person, release date).
_REPLACE_RELEASES: Final = _REPLACE.replace(
    "WHERE stored.person_id = ANY(%(people)s)",
    "WHERE (stored.person_id, stored.released_on) IN (SELECT person_id, released_on FROM"
    " json_to_recordset(CAST(%(releases)s AS json)) AS chosen(person_id text, released_on date))",
)
_DELETE_RELEASE: Final = delete(version).where(
    version.c.person_id == bindparam("person_id"), version.c.released_on == bindparam("day")
)


async def replace(
    conn: AsyncConnection,
    person_ids: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    releases: Collection[tuple[str, date]],
    release_rows: Sequence[Mapping[str, Any]],
) -> None:
    """Make `rows` the whole stored history of these people's releases, and `release_rows` that
    of the releases named by (person id, release date), leaving those people's other releases
    as they are (every row with every column). A release may move from one person to another:
    on SQLite every old row goes before any new one is written."""
    if conn.dialect.name == "postgresql":
        await replace_for_people(conn, person_ids, rows)
        if releases:
            chosen = [{"person_id": p, "released_on": day.isoformat()} for p, day in releases]
            params = {"rows": rows_json(release_rows), "releases": orjson.dumps(chosen).decode()}
            await conn.exec_driver_sql(_REPLACE_RELEASES, params)
        return
    if person_ids:
        await conn.execute(_delete_people(conn.dialect.name), {"ids": list(person_ids)})
    if releases:
        named = [{"person_id": p, "day": day} for p, day in releases]
        await conn.execute(_DELETE_RELEASE, named)
    if rows or release_rows:
        await insert_rows(conn, version, [*rows, *release_rows])


def _covering(as_of: date | BindParameter[date]) -> ColumnElement[bool]:
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


def _scope_values(scope: Scope | None) -> dict[str, list[str]]:
    """The values each dimension `scope` limits allows, by the name they are bound to."""
    if scope is None:
        return {}
    limits = ((name, getattr(scope, name.removeprefix("scope_"))) for name in _SCOPED)
    return {name: sorted(allowed) for name, allowed in limits if allowed is not None}


def _values(where: ReleaseFilter) -> dict[str, Any]:
    """The values of the conditions `where` gives (as_of aside), by the name each is bound to."""
    values = {name: getattr(where, name) for name in _OPTIONAL if name != "open_flags"}
    values = {name: value for name, value in values.items() if value is not None}
    if where.open_flags:
        values["open_flags"] = flag_mask(where.open_flags)
    values.update(_scope_values(where.scope))
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


def _conditions(shape: Shape) -> list[ColumnElement[bool]]:
    return [_condition(name) for name in shape]


async def in_scope_of_person(
    conn: AsyncConnection, person_id: str, scope: Scope, as_of: date | None
) -> dict[str, set[date]]:
    """The ids of a person's releases that `scope` admits, as of `as_of`, or ever when None,
    each with the release dates its versions admitted have had."""
    limits = _scope_values(scope)
    query = select(version.c.release_id, version.c.released_on).distinct()
    query = query.where(version.c.person_id == bindparam("person_id"), *_conditions(tuple(limits)))
    if as_of is not None:
        query = query.where(_covering(bindparam("as_of")))
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
    query = select(*_SHOWN).where(_covering(bindparam("as_of")), *_conditions(shape))
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
    values = _values(where)
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
    releases = releases.where(*_conditions(limited))
    return _with_identifiers(releases, identifier.c.person_id == owner)


async def named_by(
    conn: AsyncConnection, scheme: str, value: str, as_of: date, scope: Scope | None
) -> tuple[str | None, Shown]:
    """Who (scheme, value) names (None: nobody), with their releases as of `as_of` that `scope`
    admits (all when None), newest first, and their identifiers: the handover view's one read."""
    limits = _scope_values(scope)
    params = {"scheme": scheme, "value": value, "as_of": as_of, **limits}
    shown = await _shown(conn, _named_by(tuple(limits)), params)
    # Whoever the identifier names has that identifier among their own.
    person_id = next(iter(shown.identifiers), None)
    return person_id, shown


def tally_bits(counts: Any) -> int:
    """A record's 0/1 metric contributions as the `tally` bit mask (bit i: COUNT_COLUMNS[i]):
    `counts` has one attribute per count, as a `Tally` has."""
    return sum(1 << bit for bit, name in enumerate(COUNT_COLUMNS) if getattr(counts, name))


def _unpack(counted: Mapping[int, int]) -> dict[str, int]:
    """The metric sums from the number of releases carrying each tally."""
    sums = dict.fromkeys(COUNT_COLUMNS, 0)
    for bits, releases in counted.items():
        for bit, name in enumerate(COUNT_COLUMNS):
            if bits >> bit & 1:
                sums[name] += releases
    return sums


Counted = dict[tuple[Any, ...], dict[int, int]]


async def _counted(conn: AsyncConnection, where: ReleaseFilter, group_by: Sequence[str]) -> Counted:
    """The number of matching releases per tally, per combination of the `group_by` columns'
    values.

    Counting releases per (groups, tally) is one aggregate where summing thirteen columns was
    thirteen. The open-ended versions, most of them for any past year, come from their covering
    index; the few versions that end after the as-of date are read separately.
    """
    keys = [version.c.tally, *(version.c[name] for name in group_by)]
    counted: Counted = {}
    values = _values(where)
    conditions = _conditions(tuple(values))
    for versions in (version.c.valid_until.is_(None), version.c.valid_until > where.as_of):
        query = select(*keys, func.count()).where(*conditions)
        query = query.where(version.c.valid_from <= where.as_of, versions).group_by(*keys)
        for tally, *grouped, releases in await conn.execute(query, values):
            per_tally = counted.setdefault(tuple(grouped), {})
            per_tally[tally] = per_tally.get(tally, 0) + releases
    return counted


async def _months(conn: AsyncConnection, where: ReleaseFilter) -> list[tuple[date, date]]:
    """The filter's release dates cut into calendar months (first and last day of each), from
    the first release stored to the last where it leaves either end open."""
    first, last = where.released_from, where.released_to
    if first is None or last is None:
        span = select(func.min(version.c.released_on), func.max(version.c.released_on))
        lowest, highest = (await conn.execute(span)).one()
        if lowest is None:
            return []
        first, last = first or lowest, last or highest
    months = []
    while first <= last:
        end = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        months.append((first, min(end, last)))
        first = end + timedelta(days=1)
    return months


async def sums(
    conn: AsyncConnection, where: ReleaseFilter, group_by: Sequence[str]
) -> list[tuple[tuple[Any, ...], dict[str, int]]]:
    """The metric sums over the matching releases, per combination of the `group_by` values
    (columns, or "month": of release, as YYYY-MM), none without releases.

    By month, each month's releases are counted apart, by the other columns: reading the year
    from the index month by month costs what reading it once does, where grouping by a month
    computed from each release's date took PostgreSQL a sort of every release (at a million
    releases, 1.5 to 3 s against 0.6 s).
    """
    if "month" not in group_by:
        counted = await _counted(conn, where, group_by)
        return [(grouped, _unpack(per_tally)) for grouped, per_tally in counted.items()]
    others = [name for name in group_by if name != "month"]
    found = []
    for first, last in await _months(conn, where):
        part = dataclasses.replace(where, released_from=first, released_to=last)
        for grouped, per_tally in (await _counted(conn, part, others)).items():
            values = dict(zip(others, grouped, strict=True), month=f"{first:%Y-%m}")
            found.append((tuple(values[name] for name in group_by), _unpack(per_tally)))
    return found
