"""The events the rules read: the whole counting history of some people, or only what the
horizons of some of their releases hold (app/domain/horizons.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any

import orjson
from sqlalchemy import JSON, Date, Select, and_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.sets import one_of, per_dialect
from app.db.tables import EventRow, table
from app.domain.vocabulary import EventType

event = table(EventRow)


def counting() -> Any:
    """Whether a stored event counts: neither superseded nor retracted."""
    return and_(event.c.superseded_by.is_(None), event.c.retracted_at.is_(None))


@per_dialect
def _counting_of_people(dialect: str) -> Select[Any]:
    return select(
        event.c.seq,
        event.c.org,
        event.c.root_event_id,
        event.c.person_id,
        event.c.type,
        event.c.occurred_on,
        event.c.data,
    ).where(one_of(dialect, event.c.person_id, "ids"), counting())


async def counting_of_people(conn: AsyncConnection, person_ids: Iterable[str]) -> Sequence[Any]:
    """Every event that counts (neither superseded nor retracted) of these people."""
    ids = list(person_ids)
    if not ids:
        return []
    found = await conn.execute(_counting_of_people(conn.dialect.name), {"ids": ids})
    return list(found.all())


@per_dialect
def _release_days(dialect: str) -> Select[Any]:
    chosen = one_of(dialect, event.c.person_id, "ids")
    released = event.c.type == EventType.PRISON_RELEASED
    return select(event.c.person_id, event.c.occurred_on).where(chosen, released, counting())


async def release_days(conn: AsyncConnection, person_ids: Collection[str]) -> dict[str, list[date]]:
    """The dates of each of these people's releases, oldest first."""
    days: dict[str, set[date]] = {p: set() for p in person_ids}
    if person_ids:
        found = await conn.execute(_release_days(conn.dialect.name), {"ids": list(person_ids)})
        for person_id, day in found:
            days[person_id].add(day)
    return {person_id: sorted(found) for person_id, found in days.items()}


# A window's bounds: None stands for no bound.
_EARLIEST, _LATEST = date.min.isoformat(), date.max.isoformat()

_IN_WINDOWS_POSTGRES = (
    "SELECT e.seq, e.org, e.root_event_id, e.person_id, e.type, e.occurred_on, e.data"
    " FROM event AS e JOIN json_to_recordset(CAST(%(windows)s AS json))"
    " AS w(person_id text, lo date, hi date) ON e.person_id = w.person_id"
    " WHERE e.superseded_by IS NULL AND e.retracted_at IS NULL"
    " AND (e.occurred_on BETWEEN w.lo AND w.hi OR (e.type = %(ost)s"
    " AND CAST(e.data ->> 'first_dose_on' AS date) >= w.lo"
    " AND (CAST(e.data ->> 'first_dose_on' AS date) <= w.hi OR e.occurred_on < w.lo)))"
)
_IN_WINDOWS_SQLITE = (
    "SELECT e.seq, e.org, e.root_event_id, e.person_id, e.type, e.occurred_on, e.data"
    " FROM event AS e JOIN json_each(:windows) AS w"
    " ON e.person_id = json_extract(w.value, '$.person_id')"
    " WHERE e.superseded_by IS NULL AND e.retracted_at IS NULL"
    " AND (e.occurred_on BETWEEN json_extract(w.value, '$.lo') AND json_extract(w.value, '$.hi')"
    " OR (e.type = :ost"
    " AND json_extract(e.data, '$.first_dose_on') >= json_extract(w.value, '$.lo')"
    " AND (json_extract(e.data, '$.first_dose_on') <= json_extract(w.value, '$.hi')"
    " OR e.occurred_on < json_extract(w.value, '$.lo'))))"
)

_IN_WINDOWS_SQLITE_TYPED = text(_IN_WINDOWS_SQLITE).columns(occurred_on=Date, data=JSON)


async def counting_in(
    conn: AsyncConnection, windows: Iterable[tuple[str, date | None, date | None]]
) -> Sequence[Any]:
    """The counting events of each (person, first, last) window: dated in [first, last], or
    prescriptions whose first dose is, or that are dated before it with a first dose after
    `first` (None: no bound). Rows as `counting_of_people` gives them.

    The person's index finds their events; only those in the windows cross the wire and are
    decoded, however long the person's history.
    """
    listed = [
        {
            "person_id": p,
            "lo": lo.isoformat() if lo else _EARLIEST,
            "hi": hi.isoformat() if hi else _LATEST,
        }
        for p, lo, hi in windows
    ]
    if not listed:
        return []
    params = {"windows": orjson.dumps(listed).decode(), "ost": EventType.OST_PRESCRIBED}
    if conn.dialect.name == "postgresql":
        found = await conn.exec_driver_sql(_IN_WINDOWS_POSTGRES, params)
    else:
        found = await conn.execute(_IN_WINDOWS_SQLITE_TYPED, params)
    # An event in two windows of its person comes back twice (json has no equality operator
    # for DISTINCT to use on PostgreSQL).
    return list({row[0]: row for row in found.all()}.values())
