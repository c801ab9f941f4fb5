"""Queries on people and their identifiers."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.sets import one_of
from app.db.tables import IdentifierRow, PersonRow, table

person = table(PersonRow)
identifier = table(IdentifierRow)


async def owners(
    conn: AsyncConnection, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The person each known (scheme, value) belongs to."""
    if not keys:
        return {}
    # Both halves as sets, which the primary key answers; a pair outside `keys` is dropped.
    wanted = set(keys)
    query = select(identifier.c.scheme, identifier.c.value, identifier.c.person_id).where(
        one_of(conn, identifier.c.scheme, {s for s, _ in wanted}),
        one_of(conn, identifier.c.value, {v for _, v in wanted}),
    )
    found = {(s, v): p for s, v, p in (await conn.execute(query)).all()}
    return {key: person_id for key, person_id in found.items() if key in wanted}


async def create(
    conn: AsyncConnection,
    person_ids: Iterable[str],
    identifiers: Mapping[tuple[str, str], str],
    at: datetime,
) -> None:
    """Store new people and new identifiers (each identifier naming its person)."""
    people = [{"person_id": p, "created_at": at} for p in person_ids]
    if people:
        await conn.execute(insert(person), people)
    rows = [{"scheme": s, "value": v, "person_id": p} for (s, v), p in identifiers.items()]
    if rows:
        await conn.execute(insert(identifier), rows)


async def identifiers_of(
    conn: AsyncConnection, person_ids: Collection[str]
) -> dict[str, dict[str, str]]:
    """{person_id: {scheme: value}} for these people."""
    if not person_ids:
        return {}
    query = (
        select(identifier)
        .where(one_of(conn, identifier.c.person_id, person_ids))
        .order_by(identifier.c.value)
    )
    found: dict[str, dict[str, str]] = {p: {} for p in person_ids}
    for row in (await conn.execute(query)).all():
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
