"""Seeing one PostgreSQL backend wait for another's lock, in the server's lock table."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import Database

# pg_blocking_pids reads pg_locks: the backends whose locks `pid` waits for.
_BLOCKED_BY = text(
    "SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"
)


async def backend_pid(conn: AsyncConnection) -> int:
    pid: int = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def waits_for(db: Database, holder: int, within: float = 20) -> bool:
    """Whether, within `within` seconds, some backend comes to wait for a lock that backend
    `holder` holds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with db.read() as conn:
            if (await conn.execute(_BLOCKED_BY, {"holder": holder})).scalar_one():
                return True
        await asyncio.sleep(0.02)
    return False
