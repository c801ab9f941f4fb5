"""HMPPS domain events kept pending until their licence can be read, and the count of domain
events by type and outcome (CONTRACT §8)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import HmppsPendingRow, HmppsTallyRow, table

pending = table(HmppsPendingRow)
tally = table(HmppsTallyRow)


async def keep(conn: AsyncConnection, row: Mapping[str, Any]) -> bool:
    """Keep a pending domain event unless one of its id is kept already; whether it was new."""
    statement = (
        _insert(conn)(pending)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["org", "event_id"])
        .returning(pending.c.event_id)
    )
    return (await conn.execute(statement)).first() is not None


def _insert(conn: AsyncConnection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def get(conn: AsyncConnection, org: str, event_id: str) -> Row[Any] | None:
    query = select(pending).where(pending.c.org == org, pending.c.event_id == event_id)
    return (await conn.execute(query)).first()


async def due(conn: AsyncConnection, now: datetime, limit: int) -> list[Row[Any]]:
    """The pending events whose next attempt is due, earliest first."""
    query = (
        select(pending)
        .where(pending.c.next_attempt_at <= now)
        .order_by(pending.c.next_attempt_at)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def claim(
    conn: AsyncConnection, org: str, event_id: str, seen: datetime, until: datetime
) -> bool:
    """Put off a due event's next attempt to `until`, unless another worker already has since
    it was read as due at `seen`: whether this worker now holds it."""
    statement = (
        update(pending)
        .where(
            pending.c.org == org,
            pending.c.event_id == event_id,
            pending.c.next_attempt_at == seen,
        )
        .values(next_attempt_at=until)
        .returning(pending.c.event_id)
    )
    return (await conn.execute(statement)).first() is not None


async def failed(
    conn: AsyncConnection, org: str, event_id: str, attempts: int, retry_at: datetime, error: str
) -> None:
    statement = (
        update(pending)
        .where(pending.c.org == org, pending.c.event_id == event_id)
        .values(attempts=attempts, next_attempt_at=retry_at, last_error=error)
    )
    await conn.execute(statement)


async def done(conn: AsyncConnection, org: str, event_id: str) -> None:
    await conn.execute(delete(pending).where(pending.c.org == org, pending.c.event_id == event_id))


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(pending))).scalar_one())


async def add_to_tally(conn: AsyncConnection, event_type: str, outcome: str) -> None:
    """One more domain event of this type and outcome."""
    statement = (
        _insert(conn)(tally)
        .values(event_type=event_type, outcome=outcome, total=1)
        .on_conflict_do_update(
            index_elements=["event_type", "outcome"], set_={"total": tally.c.total + 1}
        )
    )
    await conn.execute(statement)


async def tallies(conn: AsyncConnection) -> list[Row[Any]]:
    """Every (event_type, outcome, total) counted so far."""
    query = select(tally).order_by(tally.c.event_type, tally.c.outcome)
    return list((await conn.execute(query)).all())
