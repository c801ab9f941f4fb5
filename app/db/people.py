"""Queries on people and their identifiers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import locks
from app.db.bulk import insert_rows, rows_json
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
    # Read by position: a batch reads thousands of these rows, and a Row attribute costs ten
    # times an index.
    return {
        (scheme, value): Held(person_id, carriers)
        for asked_scheme, asked_value, scheme, value, person_id, carriers in found
        if (asked_scheme, asked_value) in wanted
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


# Each row names an identifier (s, v), its holder from now on (p), and the change in its
# carriers (d). SQLite runs `_SETTLE` once per row, in C; on PostgreSQL the rows go as one JSON
# document (app/db/bulk.py) to one statement: an executemany there cost a pipelined statement
# per identifier, a batch's most frequent statement. An identifier that lost carriers and has
# none left is deleted.
_SETTLE: Final = (
    update(identifier)
    .where(identifier.c.scheme == bindparam("s"), identifier.c.value == bindparam("v"))
    .values(person_id=bindparam("p"), carriers=identifier.c.carriers + bindparam("d"))
)
_RELEASE: Final = delete(identifier).where(
    identifier.c.scheme == bindparam("s"),
    identifier.c.value == bindparam("v"),
    identifier.c.carriers <= 0,
)
_GIVEN: Final = "json_to_recordset(CAST(%s AS json)) AS given(s text, v text, p text, d bigint)"
_SETTLE_ALL: Final = (
    f"UPDATE {identifier.name} AS stored SET person_id = given.p,"
    f" carriers = stored.carriers + given.d FROM {_GIVEN}"
    " WHERE stored.scheme = given.s AND stored.value = given.v"
)
_RELEASE_ALL: Final = (
    f"DELETE FROM {identifier.name} AS stored USING {_GIVEN}"
    " WHERE stored.scheme = given.s AND stored.value = given.v AND stored.carriers <= 0"
)


async def _settle_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Write `rows` (each identifier once, so that PostgreSQL's one statement adds each row's
    carriers once). The caller holds their people."""
    if not rows:
        return
    # Only an identifier that lost carriers can have none left.
    fewer = [row for row in rows if row["d"] < 0]
    if conn.dialect.name != "postgresql":
        await conn.execute(_SETTLE, rows)
        if fewer:
            await conn.execute(_RELEASE, [{"s": row["s"], "v": row["v"]} for row in fewer])
        return
    await conn.exec_driver_sql(_SETTLE_ALL, (rows_json(rows),))
    if fewer:
        await conn.exec_driver_sql(_RELEASE_ALL, (rows_json(fewer),))


def _row(key: Key, person_id: str, delta: int) -> dict[str, Any]:
    return {"s": key[0], "v": key[1], "p": person_id, "d": delta}


async def settle(conn: AsyncConnection, changes: Changes, seen: Mapping[Key, Held]) -> None:
    """Write the changes to stored identifiers (their holders and carriers) and delete those no
    counting event carries any longer. The caller holds their people."""
    rows = [_row(key, u.person_id, u.delta) for key, u in changes.updated.items()]
    rows += [_row(key, seen[key].person_id, -seen[key].carriers) for key in changes.released]
    await _settle_rows(conn, rows)


async def split(
    conn: AsyncConnection, new_people: Mapping[str, Collection[Key]], at: datetime
) -> None:
    """Give each new person (made here) the identifiers listed for them: a person whose counting
    events no longer share identifiers comes apart. The caller moves the events."""
    await insert_rows(conn, person, [{"person_id": p, "created_at": at} for p in new_people])
    await _settle_rows(conn, [_row(key, p, 0) for p, keys in new_people.items() for key in keys])


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
