"""The query planner's statistics, refreshed by a bulk load as it grows the tables.

PostgreSQL plans every query from statistics that ANALYZE gathers. Autovacuum gathers them in
the background, but it can lag a fast load or be switched off; a planner that still believes
the event table small then looks an organisation's events up by scanning all of them, and an
import slows as it goes. SQLite is left alone: without statistics its planner picks indexes by
rule, which suits these queries.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# The tables that posting events grows or rewrites.
GROWN: Final = ("event", "identifier", "person", "release_version")


async def refresh(conn: AsyncConnection) -> None:
    """Gather fresh statistics on the tables that posting grows (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        for name in GROWN:
            await conn.execute(text(f"ANALYZE {name}"))
