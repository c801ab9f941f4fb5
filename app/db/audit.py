"""The audit trail. Rows are only ever inserted and read: there is no update or delete here.

A person's rows are those about them (`subject_type` "person" and `subject` their person id)
and the reads, lists and posts that showed or touched them (their id among the row's
`detail.person_ids`, asked of the JSON array itself, never of the row's text: an event id or a
label that happens to spell a person's id names nobody).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, and_, exc, exists, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import bulk
from app.db.engine import Database
from app.db.tables import AuditRow, table
from app.tuning.groups import Groups

audit = table(AuditRow)
_INSERT = insert(audit)


@dataclass(frozen=True)
class AuditFilter:
    """Which rows to read: every condition given must hold; `at` in [since, until)."""

    person_id: str | None = None
    org: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# The subject type of a row about one person (app.services.audit.PERSON).
_PERSON: Final = "person"
# On a connection whose audit rows are held back (see `Trail.reading`), the list they wait in.
_HELD: Final = "joinup_held_audit_rows"
Rows = list[dict[str, Any]]


class Trail:
    """Where audited reads leave their rows: stored before the read's answer is sent.

    A read's statements run on its read connection (on PostgreSQL outside a transaction, see
    `Database.read`) while its audit rows are held back. As the read ends, however it ends, a
    refusal included, its rows are inserted in a short write transaction shared with the other
    reads that end meanwhile (`app.tuning.groups`), and the read waits for that commit. So no answer
    is sent unrecorded; no read transaction starts writing half way (on SQLite, one that does
    fails when another writer has committed meanwhile); and concurrent reads pay one insert and
    one commit between them rather than one each.
    """

    def __init__(self, db: Database, most: int) -> None:
        self._db = db
        self._groups: Groups[Rows, None] = Groups(self._insert, most)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        held: Rows = []
        try:
            async with self._db.read() as conn:
                conn.info[_HELD] = held
                try:
                    yield conn
                finally:
                    # The DBAPI connection goes back to the pool: take the list off it. A
                    # connection the database dropped mid-read (a restart) cannot even be asked
                    # for its info, and is discarded, list and all: the read's own error, which
                    # `Database.read` answers 503, must not be masked by a 500 from here.
                    with suppress(exc.PendingRollbackError):
                        del conn.info[_HELD]
        finally:
            if held:
                await self._groups.submit(None, held)

    async def drain(self) -> None:
        """Wait until every read's rows queued so far are stored."""
        await self._groups.drain()

    async def _insert(self, each: list[Rows]) -> list[None]:
        async with self._db.write_one() as conn:
            await record(conn, [row for rows in each for row in rows])
        return [None] * len(each)


async def record(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add rows of the `audit` table's columns (`at`, `key_id`, `org`, `action`, `outcome`,
    `subject`, `subject_type`, `request_id`, `detail`) in one statement."""
    fresh = [dict(row) for row in rows]
    held = conn.info.get(_HELD)
    if held is not None:
        held.extend(fresh)
    elif len(fresh) == 1:
        await conn.execute(_INSERT, fresh[0])
    else:
        # One statement, so that on an autocommitting connection (`Database.write_one`) the rows
        # are stored together or not at all.
        await bulk.insert_rows(conn, audit, fresh)


def _about(dialect: str, person_id: str) -> ColumnElement[bool]:
    subject = and_(audit.c.subject_type == _PERSON, audit.c.subject == person_id)
    if dialect == "postgresql":
        listed = func.json_array_elements_text(audit.c.detail.op("->")("person_ids"))
    else:
        listed = func.json_each(audit.c.detail, "$.person_ids")
    ids = listed.table_valued("value")
    named = exists(select(literal(1)).select_from(ids).where(ids.c.value == person_id))
    return or_(subject, named)


def _conditions(dialect: str, where: AuditFilter) -> list[ColumnElement[bool]]:
    conditions = []
    if where.person_id is not None:
        conditions.append(_about(dialect, where.person_id))
    if where.org is not None:
        conditions.append(audit.c.org == where.org)
    if where.action is not None:
        conditions.append(audit.c.action == where.action)
    if where.since is not None:
        conditions.append(audit.c.at >= where.since)
    if where.until is not None:
        conditions.append(audit.c.at < where.until)
    return conditions


async def newest(
    conn: AsyncConnection, where: AuditFilter, before_id: int | None, limit: int | None
) -> list[Row[Any]]:
    """The rows `where` admits, newest first (by id), those older than `before_id` when given."""
    query = select(audit).where(*_conditions(conn.dialect.name, where))
    if before_id is not None:
        query = query.where(audit.c.id < before_id)
    query = query.order_by(audit.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list((await conn.execute(query)).all())
