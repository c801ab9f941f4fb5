"""Queries on API keys (only their hashes are stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import ApiKeyRow, table

api_key = table(ApiKeyRow)


async def add(
    conn: AsyncConnection,
    key_id: str,
    org: str,
    roles: list[str],
    label: str,
    secret_hash: str,
    at: datetime,
    scope: dict[str, list[str]] | None = None,
    event_types: list[str] | None = None,
) -> None:
    await conn.execute(
        insert(api_key).values(
            key_id=key_id,
            org=org,
            roles=",".join(roles),
            label=label,
            secret_hash=secret_hash,
            scope=_stored(scope),
            event_types=_stored(event_types),
            created_at=at,
        )
    )


def _stored(value: dict[str, list[str]] | list[str] | None) -> Any:
    # SQL NULL rather than the JSON value null, for an unscoped key or one that posts nothing.
    return value if value is not None else null()


async def by_id(conn: AsyncConnection, key_id: str) -> Row[Any] | None:
    """An active key by its id."""
    query = select(api_key).where(api_key.c.key_id == key_id, api_key.c.revoked_at.is_(None))
    return (await conn.execute(query)).first()


async def by_hash(
    conn: AsyncConnection, secret_hash: str, *, revoked_too: bool = False
) -> Row[Any] | None:
    query = select(api_key).where(api_key.c.secret_hash == secret_hash)
    if not revoked_too:
        query = query.where(api_key.c.revoked_at.is_(None))
    return (await conn.execute(query)).first()


async def all_active(conn: AsyncConnection) -> list[Row[Any]]:
    query = select(api_key).where(api_key.c.revoked_at.is_(None)).order_by(api_key.c.created_at)
    return list((await conn.execute(query)).all())


async def count_active(conn: AsyncConnection) -> int:
    query = select(func.count()).select_from(api_key).where(api_key.c.revoked_at.is_(None))
    return int((await conn.execute(query)).scalar_one())


async def revoke(conn: AsyncConnection, key_id: str, at: datetime) -> bool:
    """Revoke an active key; False when there is no such active key."""
    result = await conn.execute(
        update(api_key)
        .where(api_key.c.key_id == key_id, api_key.c.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(api_key.c.key_id)
    )
    return result.first() is not None


async def set_scope(
    conn: AsyncConnection, key_id: str, scope: dict[str, list[str]] | None
) -> Row[Any] | None:
    """Replace an active key's scope; the key, or None when there is no such active key."""
    result = await conn.execute(
        update(api_key)
        .where(api_key.c.key_id == key_id, api_key.c.revoked_at.is_(None))
        .values(scope=_stored(scope))
        .returning(*api_key.c)
    )
    return result.first()


async def set_event_types(
    conn: AsyncConnection, key_id: str, event_types: list[str] | None
) -> Row[Any] | None:
    """Replace an active key's event types; the key, or None when there is no such active key."""
    result = await conn.execute(
        update(api_key)
        .where(api_key.c.key_id == key_id, api_key.c.revoked_at.is_(None))
        .values(event_types=_stored(event_types))
        .returning(*api_key.c)
    )
    return result.first()
