"""Queries on signed-in browsers' sessions (only the hashes of their tokens are stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import ApiKeyRow, WebSessionRow, table

web_session = table(WebSessionRow)
api_key = table(ApiKeyRow)


async def add(
    conn: AsyncConnection,
    token_hash: str,
    key_id: str,
    form_token: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        insert(web_session).values(
            token_hash=token_hash,
            key_id=key_id,
            form_token=form_token,
            created_at=at,
            expires_at=expires_at,
        )
    )


async def active(conn: AsyncConnection, token_hash: str, now: datetime) -> Row[Any] | None:
    """The session's form token and its key's row, while neither it has expired nor the key
    been revoked."""
    query = (
        select(web_session.c.form_token, web_session.c.expires_at, api_key)
        .join(api_key, api_key.c.key_id == web_session.c.key_id)
        .where(
            web_session.c.token_hash == token_hash,
            web_session.c.expires_at > now,
            api_key.c.revoked_at.is_(None),
        )
    )
    return (await conn.execute(query)).first()


async def remove(conn: AsyncConnection, token_hash: str | None, now: datetime) -> None:
    """Drop this session (if any), and every session that has expired by `now`."""
    ended = web_session.c.expires_at <= now
    if token_hash is not None:
        ended = ended | (web_session.c.token_hash == token_hash)
    await conn.execute(delete(web_session).where(ended))
