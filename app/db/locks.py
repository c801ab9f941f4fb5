"""Transaction-scoped locks that serialise concurrent writers on PostgreSQL.

A writer first locks the event ids it posts or corrects, all at once and in order: so two posts
of one event, or of an event and its correction, are decided one after the other on a stable
view. The lock of an event id is a row lock on its `event_claim` row, which the locking
statement inserts when the id is new: a writer that names an id another writer has just
claimed waits for that writer's transaction to end, and ids nobody else names cost no wait.
Row locks are kept in the rows, not in PostgreSQL's shared lock table (which holds about 64
locks a connection), so a 1,000-event batch holds one per event and waits only for writers that
name one of its events. Then, knowing whom its events are about, a writer locks those people's
rows, all at once and in order, so a person's records are re-derived by one writer at a time.
New people need no lock: nobody else can see them yet, and two writers creating the same person
meet at the identifier's primary key (see `app.db.people.claim`).

No writer locks an event id while holding a person, so writers queue instead of deadlocking.
SQLite needs none of this: its write transactions start with BEGIN IMMEDIATE and so never
overlap.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager
from typing import Any, Final

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.sets import array_text, one_of, per_dialect
from app.db.tables import PersonRow, table

_NAMESPACE: Final = 0x6A75  # the first key of joinup's two-key advisory locks ("ju")
# Each id's row is inserted, or locked where it exists (DO UPDATE takes the row's lock even
# when its WHERE leaves the row unchanged), one id after another in the order of the ids: every
# writer takes its ids in that one order, so none waits for a writer that waits for it.
_CLAIM = text(
    "INSERT INTO event_claim (org, event_id)"
    " SELECT :org, id FROM unnest(CAST(:ids AS varchar[])) AS id ORDER BY id"
    " ON CONFLICT (org, event_id) DO UPDATE SET event_id = excluded.event_id WHERE false"
)
_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(:namespace, k)) FROM"
    " (SELECT k FROM unnest(CAST(:keys AS integer[])) AS k ORDER BY k) AS ordered"
)
_TRY = text("SELECT pg_try_advisory_lock(:namespace, :key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:namespace, :key)")
person = table(PersonRow)


def lock_id(key: str) -> int:
    """The advisory lock of `key`: crc32, not hash(), so every process agrees, as a signed int4."""
    return zlib.crc32(key.encode()) - 2**31


async def lock(conn: AsyncConnection, keys: Iterable[str]) -> None:
    """Block until this transaction holds the advisory locks of `keys` (PostgreSQL only)."""
    ids = sorted({lock_id(key) for key in keys})
    if ids and conn.dialect.name == "postgresql":
        await conn.execute(_LOCK, {"namespace": _NAMESPACE, "keys": ids})


async def lock_events(conn: AsyncConnection, org: str, event_ids: Iterable[str]) -> None:
    """Block until this transaction holds these event ids of `org` (PostgreSQL only)."""
    ids = sorted(set(event_ids))
    if ids and conn.dialect.name == "postgresql":
        await conn.execute(_CLAIM, {"org": org, "ids": array_text(ids)})


@asynccontextmanager
async def held_if_free(conn: AsyncConnection, key: str) -> AsyncIterator[bool]:
    """Whether this connection took the advisory lock of `key`, free at the time, for the
    block (PostgreSQL only). Held by the session, not a transaction: the block's statements
    may each commit by themselves."""
    ids = {"namespace": _NAMESPACE, "key": lock_id(key)}
    taken = bool((await conn.execute(_TRY, ids)).scalar_one())
    try:
        yield taken
    finally:
        if taken:
            await _unlock(conn, ids)


async def _unlock(conn: AsyncConnection, ids: dict[str, int]) -> None:
    try:
        await conn.execute(_UNLOCK, ids)
    except Exception:
        # A statement of the block that was cancelled leaves the connection wanting a rollback,
        # and this one fails. Closing the connection releases its session's locks; raising here
        # would hide the block's own exception (the cancellation) from the caller.
        await conn.invalidate()


@per_dialect
def _people_rows(dialect: str) -> Select[Any]:
    chosen = one_of(dialect, person.c.person_id, "ids")
    return select(person.c.person_id).where(chosen).order_by(person.c.person_id).with_for_update()


async def lock_people(conn: AsyncConnection, person_ids: Collection[str]) -> None:
    """Block until this transaction holds these people's rows (PostgreSQL only)."""
    if person_ids and conn.dialect.name == "postgresql":
        await conn.execute(_people_rows(conn.dialect.name), {"ids": list(person_ids)})
