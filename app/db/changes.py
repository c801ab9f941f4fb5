"""The outbox of changes, the date each release was last compared on, and the sweep's row.

Change ids are given in commit order: a writer takes one advisory lock just before it inserts
its changes and keeps it until it commits, so a change with a smaller id is never committed
after one with a larger id. Readers that walk the outbox by id (the feed, the delivery worker)
therefore never step over a change that shows up later. On SQLite writers never overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import locks
from app.db.bulk import handing_back, insert_rows, recordset, rows_json
from app.db.notification_tables import ChangeRow, ChangeSweepRow, ReleaseNoticeRow
from app.db.sets import one_of, per_dialect
from app.db.tables import ReleaseVersionRow, table
from app.domain.changes import FlagState, Snapshot
from app.domain.filters import DIMENSIONS, Scope
from app.domain.vocabulary import FLAG_BITS

change = table(ChangeRow)
notice = table(ReleaseNoticeRow)
sweep_row = table(ChangeSweepRow)
version = table(ReleaseVersionRow)

_ORDER_LOCK: Final = "change-order"
_SWEEP: Final = "time"


def _open_codes(mask: int) -> frozenset[str]:
    return frozenset(code for code, bit in FLAG_BITS.items() if mask & bit)


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def snapshot(row: Mapping[str, Any]) -> Snapshot:
    """A release version's row (its columns by name) as the snapshot changes compare. A version
    stored before records were kept (record NULL) knows its open flags but not their dates."""
    open_codes = _open_codes(row["open_flags"])
    record = row["record"]
    record = record if not isinstance(record, str) else orjson.loads(record)
    listed = record.get("flags", []) if isinstance(record, dict) else []
    flags = {
        f["code"]: FlagState(f["code"], _day(f["raised_on"]), _day(f["resolved_on"]))
        for f in listed
    }
    for code in open_codes - flags.keys():
        flags[code] = FlagState(code, None, None)
    return Snapshot(
        release_id=row["release_id"],
        person_id=row["person_id"],
        released_on=row["released_on"],
        prison=row["prison"],
        probation_region=row["probation_region"],
        local_authority=row["local_authority"],
        community_provider=row["community_provider"],
        stage=row["stage"],
        flags=flags,
        open_flags=open_codes,
    )


_SNAPSHOT_COLUMNS: Final = (
    version.c.release_id,
    version.c.person_id,
    version.c.released_on,
    version.c.prison,
    version.c.probation_region,
    version.c.local_authority,
    version.c.community_provider,
    version.c.stage,
    version.c.open_flags,
    version.c.record,
    version.c.valid_from,
)


def _covers(day: Any) -> ColumnElement[bool]:
    return and_(
        version.c.valid_from <= day,
        or_(version.c.valid_until.is_(None), version.c.valid_until > day),
    )


def _released_on(dialect: str) -> Any:
    """The version's release date is one of the ISO dates bound to `days`."""
    day = cast(version.c.released_on, String) if dialect == "postgresql" else version.c.released_on
    return one_of(dialect, day, "days")


@per_dialect
def _compared(dialect: str) -> Select[Any]:
    day = func.coalesce(notice.c.compared_on, bindparam("day"))
    joined = version.outerjoin(notice, notice.c.release_id == version.c.release_id)
    return (
        select(*_SNAPSHOT_COLUMNS, notice.c.compared_on)
        .select_from(joined)
        .where(one_of(dialect, version.c.person_id, "ids"), _covers(day))
    )


@per_dialect
def _on(dialect: str) -> Select[Any]:
    chosen = one_of(dialect, version.c.person_id, "ids")
    return select(*_SNAPSHOT_COLUMNS).where(chosen, _covers(bindparam("day")))


def _of_days(query: Callable[[str], Select[Any]], dialect: str, days: bool) -> Select[Any]:
    return query(dialect).where(_released_on(dialect)) if days else query(dialect)


def _params(person_ids: Collection[str], day: date, days: Collection[date] | None) -> Any:
    params: dict[str, Any] = {"ids": list(person_ids), "day": day}
    if days is not None:
        params["days"] = sorted(d.isoformat() for d in days)
    return params


async def last_compared(
    conn: AsyncConnection,
    person_ids: Collection[str],
    default: date,
    days: Collection[date] | None = None,
) -> dict[str, tuple[Snapshot, date | None]]:
    """By release id, these people's records (of their releases dated `days` only, when
    given) as of the day each release was last compared on (`default` for a release never
    compared), with that day (None: never)."""
    return await _snapshots(conn, _compared, "compared_on", person_ids, default, days)


async def records_on(
    conn: AsyncConnection, person_ids: Collection[str], day: date
) -> dict[str, tuple[Snapshot, date]]:
    """By release id, these people's records as of `day`, with the day each version starts."""
    return await _snapshots(conn, _on, "valid_from", person_ids, day, None)


async def _snapshots(
    conn: AsyncConnection,
    query_of: Callable[[str], Select[Any]],
    dated: str,
    person_ids: Collection[str],
    day: date,
    days: Collection[date] | None,
) -> dict[str, Any]:
    """By release id, the snapshot of each row of `query_of`, with its column `dated`."""
    if not person_ids:
        return {}
    query = _of_days(query_of, conn.dialect.name, days is not None)
    rows = (await conn.execute(query, _params(person_ids, day, days))).all()
    found = {}
    async for row in handing_back(rows):
        found[row.release_id] = (snapshot(row._mapping), getattr(row, dated))
    return found


# PostgreSQL: the rows as one JSON document to one statement, not an upsert per release.
_MARK_ALL: Final = (
    f"INSERT INTO {notice.name} (release_id, compared_on) SELECT release_id, compared_on"
    f" FROM {recordset(notice, ('release_id', 'compared_on'))}"
    " ON CONFLICT (release_id) DO UPDATE SET compared_on = excluded.compared_on"
)


async def mark_compared(conn: AsyncConnection, release_ids: Iterable[str], day: date) -> None:
    rows = [{"release_id": r, "compared_on": day} for r in sorted(set(release_ids))]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(_MARK_ALL, (rows_json(rows),))
        return
    statement = sqlite.insert(notice)
    statement = statement.on_conflict_do_update(
        index_elements=[notice.c.release_id],
        set_={"compared_on": statement.excluded.compared_on},
    )
    await conn.execute(statement, rows)


async def add(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert changes (each with every column but the id), numbered in commit order: the lock
    taken here is held until this transaction ends."""
    if rows:
        await locks.lock(conn, [_ORDER_LOCK])
        await insert_rows(conn, change, rows)


def _scoped(scope: Scope | None) -> list[ColumnElement[bool]]:
    """The one place a key's scope limits changes, as `app.db.release_filters` limits releases."""
    if scope is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    for dimension, column in DIMENSIONS.items():
        allowed = getattr(scope, dimension)
        if allowed is not None:
            conditions.append(change.c[column].in_(sorted(allowed)))
    return conditions


async def page(
    conn: AsyncConnection,
    after: int,
    limit: int,
    types: Collection[str] | None,
    scope: Scope | None,
) -> list[Any]:
    """The changes after `after` that `types` (all when None) and `scope` admit, oldest first."""
    query = select(change).where(change.c.change_id > after, *_scoped(scope))
    if types is not None:
        query = query.where(change.c.type.in_(sorted(types)))
    query = query.order_by(change.c.change_id).limit(limit)
    return list((await conn.execute(query)).all())


async def since(conn: AsyncConnection, after: int, limit: int) -> list[Any]:
    """Every change after `after`, oldest first."""
    query = select(change).where(change.c.change_id > after)
    query = query.order_by(change.c.change_id).limit(limit)
    return list((await conn.execute(query)).all())


async def bodies(conn: AsyncConnection, change_ids: Collection[int]) -> dict[int, bytes]:
    """The changes as sent, by id: their JSON with the change id first."""
    query = select(change.c.change_id, change.c.body).where(
        change.c.change_id.in_(sorted(change_ids))
    )
    return {
        row.change_id: orjson.dumps({"change_id": str(row.change_id), **row.body})
        for row in await conn.execute(query)
    }


def shown(row: Any) -> dict[str, Any]:
    """A change row as the feed shows it."""
    return {"change_id": str(row.change_id), **row.body}


async def last_id(conn: AsyncConnection) -> int:
    return int(
        (await conn.execute(select(func.coalesce(func.max(change.c.change_id), 0)))).scalar_one()
    )


async def lock_sweep(conn: AsyncConnection) -> tuple[bool, date | None]:
    """Take the sweep's row until this transaction ends, if no other transaction holds it:
    whether it was taken, and the day the last sweep compared records as of."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(
        insert(sweep_row).values(name=_SWEEP, swept_on=None).on_conflict_do_nothing()
    )
    query = select(sweep_row.c.swept_on).where(sweep_row.c.name == _SWEEP)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found = (await conn.execute(query)).first()
    return (False, None) if found is None else (True, found.swept_on)


async def set_swept(conn: AsyncConnection, day: date) -> None:
    query = update(sweep_row).where(sweep_row.c.name == _SWEEP).values(swept_on=day)
    await conn.execute(query)


async def people_with_versions_starting(
    conn: AsyncConnection, after: date, until: date
) -> list[str]:
    """The people with a release version that starts in (after, until]."""
    query = (
        select(version.c.person_id)
        .where(version.c.valid_from > after, version.c.valid_from <= until)
        .distinct()
    )
    return sorted((await conn.execute(query)).scalars())
