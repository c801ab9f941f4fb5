"""Queries on people and their identifiers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import locks
from app.db.bulk import insert_rows
from app.db.sets import one_of, per_dialect
from app.db.tables import IdentifierRow, PersonRow, table
from app.domain.identity import Changes, Held, Key

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


@per_dialect
def _identities(dialect: str) -> Select[Any]:
    # Every identifier of the people who hold one asked for: the asked-for halves as sets, which
    # the primary key answers; the caller drops the pairs it did not ask (`asked`).
    named = identifier.alias("named")
    return (
        select(
            named.c.scheme.label("asked_scheme"),
            named.c.value.label("asked_value"),
            identifier.c.scheme,
            identifier.c.value,
            identifier.c.person_id,
            identifier.c.carriers,
        )
        .select_from(named.join(identifier, identifier.c.person_id == named.c.person_id))
        .where(one_of(dialect, named.c.scheme, "schemes"), one_of(dialect, named.c.value, "values"))
    )


async def identities(conn: AsyncConnection, keys: Collection[Key]) -> dict[Key, Held]:
    """Every identifier of the people who hold one of `keys`, with its holder and carriers."""
    if not keys:
        return {}
    wanted = set(keys)
    sets = {"schemes": list({s for s, _ in wanted}), "values": list({v for _, v in wanted})}
    found = (await conn.execute(_identities(conn.dialect.name), sets)).all()
    return {
        (row.scheme, row.value): Held(row.person_id, row.carriers)
        for row in found
        if (row.asked_scheme, row.asked_value) in wanted
    }


async def claim(
    conn: AsyncConnection,
    touched: Collection[str],
    person_ids: Collection[str],
    asked: Collection[Key],
    seen: Mapping[Key, Held],
    changes: Changes,
    at: datetime,
) -> bool:
    """Lock the stored people `touched`, then store new people and new identifiers (each
    naming its person), unless what is stored of the people who hold one of the identifiers
    `asked` has changed since it was read (`seen`, their `identities`).

    Then nothing is stored, no person is held, and the answer is False: the caller decides
    again with what is stored now, and locks afresh. Changed means: another writer has stored
    one of the new identifiers, given one of these people an identifier, released or moved one
    of theirs, or changed the carriers of one this post releases (the post counted on being its
    last carrier). Carriers of the others may change meanwhile: the post adds or takes its own
    from them (`settle`). The attempt is a savepoint, so a lost one leaves neither a
    half-claimed identifier for other writers to wait on nor people locked out of order (a
    second round taking more people while holding the first round's would deadlock with
    writers that take them in order). Identifiers go in in key order, so two claims of
    overlapping sets queue; one that meets an uncommitted identifier waits for its writer.

    On SQLite, whose write transactions never overlap, nothing can have changed.
    """
    if conn.dialect.name != "postgresql":
        await _store_new(conn, person_ids, changes, at)
        return True
    async with conn.begin_nested() as attempt:
        await locks.lock_people(conn, touched)
        await _store_new(conn, person_ids, changes, at)
        now = await identities(conn, {*asked, *changes.new})
        if _unchanged(seen, changes, now):
            return True
        await attempt.rollback()
        return False


async def _store_new(
    conn: AsyncConnection, person_ids: Collection[str], changes: Changes, at: datetime
) -> None:
    await insert_rows(conn, person, [{"person_id": p, "created_at": at} for p in person_ids])
    rows = [
        {
            "scheme": s,
            "value": v,
            "person_id": changes.new[s, v].person_id,
            "carriers": changes.new[s, v].carriers,
        }
        for s, v in sorted(changes.new)
    ]
    await insert_rows(conn, identifier, rows, skip_conflicts=True)


def _unchanged(seen: Mapping[Key, Held], changes: Changes, now: Mapping[Key, Held]) -> bool:
    expected = {key: held.person_id for key, held in seen.items()}
    expected.update((key, held.person_id) for key, held in changes.new.items())
    if {key: held.person_id for key, held in now.items()} != expected:
        return False
    return all(now[key].carriers == seen[key].carriers for key in changes.released)


_SETTLE = (
    update(identifier)
    .where(identifier.c.scheme == bindparam("s"), identifier.c.value == bindparam("v"))
    .values(person_id=bindparam("p"), carriers=identifier.c.carriers + bindparam("d"))
)
_RELEASE = delete(identifier).where(
    identifier.c.scheme == bindparam("s"),
    identifier.c.value == bindparam("v"),
    identifier.c.carriers <= 0,
)


async def settle(conn: AsyncConnection, changes: Changes, seen: Mapping[Key, Held]) -> None:
    """Write the changes to stored identifiers (their holders and carriers) and delete those no
    counting event carries any longer. The caller holds their people."""
    each: list[dict[str, Any]] = [
        {"s": s, "v": v, "p": u.person_id, "d": u.delta} for (s, v), u in changes.updated.items()
    ]
    each += [
        {"s": s, "v": v, "p": seen[s, v].person_id, "d": -seen[s, v].carriers}
        for s, v in changes.released
    ]
    if each:
        await conn.execute(_SETTLE, each)
    # Only an identifier that lost carriers can have none left.
    fewer = [{"s": row["s"], "v": row["v"]} for row in each if row["d"] < 0]
    if fewer:
        await conn.execute(_RELEASE, fewer)


async def split(
    conn: AsyncConnection, new_people: Mapping[str, Collection[Key]], at: datetime
) -> None:
    """Give each new person (made here) the identifiers listed for them: a person whose counting
    events no longer share identifiers comes apart. The caller moves the events."""
    await insert_rows(conn, person, [{"person_id": p, "created_at": at} for p in new_people])
    moved = [{"s": s, "v": v, "p": p, "d": 0} for p, keys in new_people.items() for s, v in keys]
    if moved:
        await conn.execute(_SETTLE, moved)


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
        # A person stored before the one-value-per-scheme rule with two values of one scheme
        # shows the first of them.
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
