"""The query planner's statistics, refreshed by a bulk load as it grows the tables, and by each
server process as posts grow them.

PostgreSQL plans every query from statistics that ANALYZE gathers. Autovacuum gathers them in
the background, but it can lag a fast load or be switched off; a planner that still believes
the event table small then looks an organisation's events up by scanning all of them, and an
import slows as it goes. SQLite is left alone: without statistics its planner picks indexes by
rule, which suits these queries.

The API's posts need the same. Each batch reads its people's events by person
(`person_id = ANY(...)`); without statistics the planner expected most of the table and read
all of it, so every batch cost more than the one before (docs/performance.md has the figures).
Autovacuum, when on, looks at each table about once a minute, which a backfill outruns
too. So every server process on PostgreSQL calls `refresh_due` every `JOINUP_ANALYZE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import locks
from app.db.engine import Database

log = logging.getLogger("joinup.statistics")

# The tables that posting events grows or rewrites.
GROWN: Final = ("event", "identifier", "person", "release_version")

# A table is analysed again once the rows changed since its last ANALYZE number LEAST_CHANGED
# plus this share of the rows that ANALYZE counted: autovacuum's rule, with five times its
# share. Plans only need the sizes roughly right, and an ANALYZE of a large table reads a
# sample of 30,000 rows: 0.1 to 0.3 s of the server here.
CHANGED_SHARE: Final = 0.5
LEAST_CHANGED: Final = 1000

_DUE = text(
    "SELECT s.relname FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid"
    " WHERE s.schemaname = current_schema() AND s.relname = ANY(CAST(:tables AS text[]))"
    # reltuples: the rows the last ANALYZE counted, -1 before the first.
    " AND s.n_mod_since_analyze >= :least + :share * greatest(c.reltuples, 0)"
    " ORDER BY s.relname"
)


async def refresh(conn: AsyncConnection) -> None:
    """Gather fresh statistics on the tables that posting grows (PostgreSQL only), on a
    connection from `Database.write_one`, so that each ANALYZE commits by itself (see
    `refresh_due`)."""
    if conn.dialect.name == "postgresql":
        for name in GROWN:
            await conn.execute(text(f"ANALYZE {name}"))


async def refresh_due(db: Database) -> list[str]:
    """Gather fresh statistics on the grown tables that have changed enough since their last,
    unless another process is doing so now; the tables analysed (PostgreSQL only).

    Each ANALYZE commits by itself, so a round holds one table's lock at a time: held together,
    they could wait in a cycle with a statement that locks several tables (a TRUNCATE, say).
    ANALYZE blocks no reads or writes; the advisory lock only spares the server two processes'
    ANALYZE of the same tables.
    """
    if db.dialect != "postgresql":
        return []
    async with db.write_one() as conn, locks.held_if_free(conn, "statistics") as turn:
        if not turn:
            return []
        due = {"tables": list(GROWN), "least": LEAST_CHANGED, "share": CHANGED_SHARE}
        tables = list((await conn.execute(_DUE, due)).scalars())
        for name in tables:
            await conn.execute(text(f"ANALYZE {name}"))
    return tables


async def keep_up(db: Database, every: float) -> None:
    """`refresh_due` every `every` seconds, until cancelled; a round that fails is logged and
    the next one tries again."""
    while True:
        await asyncio.sleep(every)
        try:
            analysed = await refresh_due(db)
        except Exception:
            log.warning("could not refresh the planner's statistics", exc_info=True)
        else:
            if analysed:
                log.info("planner statistics refreshed: %s", ", ".join(analysed))
