"""Transaction-scoped locks that serialise concurrent writers on PostgreSQL.

A writer first locks the stripes of everything it will look up or create by key (event ids,
identifiers), all at once and in stripe order; then, knowing whom its events are about, it
locks those people's rows, again all at once and in order. No writer asks for a stripe while
holding a person, so writers queue instead of deadlocking.

Keys map onto a fixed number of stripes because PostgreSQL's shared lock table is small (64
locks per connection by default): a batch of a thousand events takes at most STRIPES advisory
locks, however many keys it has. The price is that two writers whose keys share a stripe wait
for each other though they touch different things. SQLite needs none of this: its write
transactions start with BEGIN IMMEDIATE and so never overlap.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable
from typing import Any, Final

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.sets import one_of, per_dialect
from app.db.tables import PersonRow, table

STRIPES: Final = 64
_NAMESPACE: Final = 0x6A75  # the first key of joinup's two-key advisory locks ("ju")
_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(:namespace, s)) FROM"
    " (SELECT s FROM unnest(CAST(:stripes AS integer[])) AS s ORDER BY s) AS ordered"
)
person = table(PersonRow)


def event_key(org: str, event_id: str) -> str:
    return f"e|{org}|{event_id}"


def identifier_key(scheme: str, value: str) -> str:
    return f"i|{scheme}|{value}"


def stripe(key: str) -> int:
    # crc32, not hash(): every process must put a key on the same stripe.
    return zlib.crc32(key.encode()) % STRIPES


async def lock(conn: AsyncConnection, keys: Iterable[str]) -> None:
    """Block until this transaction holds the stripes of every key (PostgreSQL only)."""
    stripes = sorted({stripe(key) for key in keys})
    if stripes and conn.dialect.name == "postgresql":
        await conn.execute(_LOCK, {"namespace": _NAMESPACE, "stripes": stripes})


@per_dialect
def _people_rows(dialect: str) -> Select[Any]:
    chosen = one_of(dialect, person.c.person_id, "ids")
    return select(person.c.person_id).where(chosen).order_by(person.c.person_id).with_for_update()


async def lock_people(conn: AsyncConnection, person_ids: Collection[str]) -> None:
    """Block until this transaction holds these people's rows (PostgreSQL only)."""
    if person_ids and conn.dialect.name == "postgresql":
        await conn.execute(_people_rows(conn.dialect.name), {"ids": list(person_ids)})
