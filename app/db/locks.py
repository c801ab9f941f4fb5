"""Transaction-scoped locks that serialise concurrent writers on PostgreSQL.

Writers take the locks of everything they are about to look up or change (event ids,
identifiers) in one statement, then the locks of the people involved in a second one; each set
is taken in one global order, and no transaction asks for a first-round lock while it holds a
second-round one, so writers queue instead of deadlocking. SQLite needs none of this: its write
transactions start with BEGIN IMMEDIATE and so never overlap.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM ("
    " SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k"
    " ORDER BY h) AS ordered"
)


def event_key(org: str, event_id: str) -> str:
    return f"e|{org}|{event_id}"


def identifier_key(scheme: str, value: str) -> str:
    return f"i|{scheme}|{value}"


def person_key(person_id: str) -> str:
    return f"p|{person_id}"


async def lock(conn: AsyncConnection, keys: Iterable[str]) -> None:
    """Block until this transaction holds the lock of every key (PostgreSQL only)."""
    ordered = sorted(set(keys))
    if ordered and conn.dialect.name == "postgresql":
        await conn.execute(_LOCK, {"keys": ordered})
