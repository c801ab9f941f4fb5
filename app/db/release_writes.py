"""Storing release versions: a re-derivation makes the versions it gives the whole stored
history of the people (or the releases) it re-derived."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any, Final

import orjson
from sqlalchemy import Delete, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.bulk import insert_rows, recordset, rows_json
from app.db.sets import array_text, one_of, per_dialect
from app.db.tables import ReleaseVersionRow, table

version = table(ReleaseVersionRow)


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
