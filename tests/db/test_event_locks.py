"""An organisation's writers wait for each other only where they name the same event id.

Each writer locks the ids it names (app/db/locks.py). A 1,000-event batch names a thousand
ids; when those locks were 64 per organisation, such a batch held every one of them, and the
organisation's other writers all waited for it, whatever they posted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import locks
from app.db.engine import Database
from tests.conftest import empty
from tests.support.locks import backend_pid, waits_for

ORG = "HMP-MDI-HC"
FIRST = [f"batch-1-{n:04d}" for n in range(1000)]
SECOND = [f"batch-2-{n:04d}" for n in range(1000)]
# Long enough for a lock that is free to be taken on a busy machine.
PROMPTLY = 5.0


@asynccontextmanager
async def _holding(db: Database, ids: list[str]) -> AsyncIterator[AsyncConnection]:
    async with db.write() as conn:
        await locks.lock_events(conn, ORG, ids)
        yield conn


async def _locked(db: Database, ids: list[str], org: str = ORG) -> None:
    async with db.write() as conn:
        await locks.lock_events(conn, org, ids)


def _run(url: str, scenario: Callable[[Database], Awaitable[None]]) -> None:
    async def run() -> None:
        db = Database(url)
        try:
            await scenario(db)
        finally:
            await db.dispose()

    asyncio.run(run())


async def _waits_for(db: Database, holder: AsyncConnection, waiter: asyncio.Task[None]) -> None:
    """`waiter` comes to wait for a lock of `holder`'s (PostgreSQL's lock table says so) and
    stays blocked while `holder`'s transaction is open, and ends once it commits."""
    assert await waits_for(db, await backend_pid(holder)), "no writer waited for the holder"
    assert not waiter.done(), "took a lock another open transaction holds"
    await holder.commit()
    await asyncio.wait_for(waiter, PROMPTLY)


def test_batches_of_different_events_do_not_wait_for_each_other(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    empty(engine)

    async def scenario(db: Database) -> None:
        async with _holding(db, FIRST):
            await asyncio.wait_for(_locked(db, SECOND), PROMPTLY)
            # SECOND's rows exist now: locking existing rows does not wait for FIRST's holder.
            await asyncio.wait_for(_locked(db, SECOND), PROMPTLY)

    _run(url, scenario)


def test_a_writer_naming_a_held_event_waits_until_its_holder_commits(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    empty(engine)

    async def scenario(db: Database) -> None:
        # An id claimed for the first time (its row not yet committed) ...
        async with _holding(db, FIRST) as holder:
            await _waits_for(db, holder, asyncio.create_task(_locked(db, [*SECOND, FIRST[500]])))
        # ... and one whose row exists: both wait.
        async with _holding(db, FIRST[:10]) as holder:
            await _waits_for(db, holder, asyncio.create_task(_locked(db, [FIRST[9]])))
        # Another organisation's event of the same id is another event.
        async with _holding(db, FIRST):
            await asyncio.wait_for(_locked(db, FIRST, org="HMP-LPI-HC"), PROMPTLY)

    _run(url, scenario)
