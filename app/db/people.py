"""Queries on people and their identifiers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import locks
from app.db.bulk import insert_rows
from app.db.sets import one_of, per_dialect
from app.db.tables import IdentifierRow, PersonRow, table

person = table(PersonRow)
identifier = table(IdentifierRow)


@per_dialect
def _owners(dialect: str) -> Select[Any]:
    # Both halves as sets, which the primary key answers; the caller drops pairs it did not ask.
    return select(identifier.c.scheme, identifier.c.value, identifier.c.person_id).where(
        one_of(dialect, identifier.c.scheme, "schemes"),
        one_of(dialect, identifier.c.value, "values"),
    )


async def owners(
    conn: AsyncConnection, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The person each known (scheme, value) belongs to."""
    if not keys:
        return {}
    wanted = set(keys)
    sets = {"schemes": list({s for s, _ in wanted}), "values": list({v for _, v in wanted})}
    found = (await conn.execute(_owners(conn.dialect.name), sets)).all()
    return {(s, v): p for s, v, p in found if (s, v) in wanted}


async def claim(
    conn: AsyncConnection,
    touched: Collection[str],
    person_ids: Collection[str],
    identifiers: Mapping[tuple[str, str], str],
    at: datetime,
) -> bool:
    """Lock the stored people `touched`, then store new people and new identifiers (each
    naming its person), unless another writer has stored one of those identifiers since they
    were looked up.

    Then nothing is stored, no person is held, and the answer is False: the caller decides
    again with what is stored now, and locks afresh. The attempt is a savepoint, so a lost one
    leaves neither a half-claimed identifier for other writers to wait on nor people locked out
    of order (a second round taking more people while holding the first round's would
    deadlock with writers that take them in order). Identifiers go in in key order, so two
    claims of overlapping sets queue; one that meets an uncommitted identifier waits for its
    writer.
    """
    if not person_ids and not identifiers:
        await locks.lock_people(conn, touched)
        return True
    async with conn.begin_nested() as attempt:
        await locks.lock_people(conn, touched)
        await insert_rows(conn, person, [{"person_id": p, "created_at": at} for p in person_ids])
        keys = sorted(identifiers)
        rows = [{"scheme": s, "value": v, "person_id": identifiers[s, v]} for s, v in keys]
        await insert_rows(conn, identifier, rows, skip_conflicts=True)
        if await owners(conn, keys) == dict(identifiers):
            return True
        await attempt.rollback()
        return False


@per_dialect
def _identifiers_of(dialect: str) -> Select[Any]:
    chosen = one_of(dialect, identifier.c.person_id, "ids")
    return select(identifier).where(chosen).order_by(identifier.c.value)


async def identifiers_of(
    conn: AsyncConnection, person_ids: Collection[str]
) -> dict[str, dict[str, str]]:
    """{person_id: {scheme: value}} for these people."""
    if not person_ids:
        return {}
    found: dict[str, dict[str, str]] = {p: {} for p in person_ids}
    rows = await conn.execute(_identifiers_of(conn.dialect.name), {"ids": list(person_ids)})
    for row in rows.all():
        # A person known by two values of one scheme shows the first of them.
        found[row.person_id].setdefault(row.scheme, row.value)
    return found


async def every_identifier(conn: AsyncConnection, person_id: str) -> list[tuple[str, str]]:
    """Every (scheme, value) that names this person, a scheme's values in order."""
    query = (
        select(identifier.c.scheme, identifier.c.value)
        .where(identifier.c.person_id == person_id)
        .order_by(identifier.c.scheme, identifier.c.value)
    )
    return [(scheme, value) for scheme, value in (await conn.execute(query)).all()]
