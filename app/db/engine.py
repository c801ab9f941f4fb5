"""Engines and transactions, with the differences between SQLite and PostgreSQL hidden here.

`Database.read()` gives a connection for answers, `Database.write()` one transaction for
changes (`Database.batch()` one for a batch of events, planned differently). On SQLite a read
is a deferred transaction (one snapshot) and a write starts with BEGIN IMMEDIATE, so two
writers queue for the lock instead of failing when a read transaction tries to upgrade. On
PostgreSQL a read's statements autocommit, each under its own READ COMMITTED snapshot, and
writes are READ COMMITTED transactions that serialise per event id and per person with row
locks (app/db/locks.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from app.db.errors import DatabaseUnavailable
from app.tuning import JIT, PREPARE_THRESHOLD, READ_OVERFLOW_PER_POOL, WRITE_PLANS

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.set(drivername=drivers[backend])


def async_url(url: str) -> URL:
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> URL:
    """The URL for synchronous tools (Alembic) on the same database."""
    return _with_driver(url, _SYNC_DRIVERS)


def ensure_sqlite_directory(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module, which would otherwise issue its
    # own BEGINs (and break SAVEPOINT); the "begin" listeners below start each transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "busy_timeout=30000",
        "journal_mode=WAL",  # already so once migrated (migrations/env.py): then a no-op
        "synchronous=NORMAL",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


# hide_parameters: a database error's message (logged with a 500) then names the statement but
# not its values, which may be a person's identifiers or health data.
def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# orjson reads and writes the JSON columns several times faster than the standard library.
_JSON = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def _sqlite_engine(url: URL, pool_size: int, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=300,
        hide_parameters=True,
        **_JSON,
    )
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


def _postgres_engine(
    url: URL,
    pool_size: int,
    overflow: int,
    *,
    settings: str = "",
    prepared: bool = True,
    **options: Any,
) -> AsyncEngine:
    # Without insertmanyvalues, a many-row INSERT goes to psycopg's executemany, which
    # pipelines one prepared single-row statement: faster than one long multi-VALUES
    # statement that is parsed anew for every batch size.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=overflow,
        hide_parameters=True,
        use_insertmanyvalues=False,
        connect_args={
            "options": f"{JIT} {settings}".strip(),
            "prepare_threshold": PREPARE_THRESHOLD if prepared else None,
        },
        **_JSON,
        **options,
    )


@asynccontextmanager
async def _unavailable_on_disconnect() -> AsyncIterator[None]:
    # Operational errors are the database's state (down, restarting, locked too long), not the
    # request's fault; the caller answers 503 and the pool reconnects on the next checkout.
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise DatabaseUnavailable(str(error.orig)) from error
    except (OSError, exc.TimeoutError) as error:
        raise DatabaseUnavailable(str(error)) from error


@dataclass(frozen=True)
class PoolStatus:
    """One connection pool at a moment: its steady size, connections lent out, extra ones open."""

    size: int
    checked_out: int
    overflow: int


def _status(engine: AsyncEngine) -> PoolStatus:
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return PoolStatus(0, 0, 0)
    # QueuePool counts overflow from -size upwards while it is still filling; below 0 means none.
    return PoolStatus(pool.size(), pool.checkedout(), max(pool.overflow(), 0))


class Database:
    """The process's connection pools, created in the app's lifespan and disposed with it."""

    def __init__(self, url: str, pool_size: int = 10, batch_pool_size: int = 2) -> None:
        self.url = async_url(url)
        ensure_sqlite_directory(self.url)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            # One writer connection per process: SQLite takes one writer at a time anyway, and
            # queueing in the pool is cheaper than spinning on the database lock. Reads keep
            # their one snapshot, in a deferred transaction.
            self._answers = _sqlite_engine(self.url, pool_size, immediate=False)
            self._writer = self._batches = _sqlite_engine(self.url, 1, immediate=True)
        else:
            # An answer's statements run outside a transaction, on connections of their own that
            # stay in autocommit: under READ COMMITTED each statement sees its own snapshot either
            # way, BEGIN and COMMIT would be two more round trips per request, and switching a
            # pooled connection to autocommit and back would cost more than the statement.
            # Answers may open more under load (app/tuning).
            overflow = READ_OVERFLOW_PER_POOL * pool_size
            self._answers = _postgres_engine(
                self.url, pool_size, overflow, isolation_level="AUTOCOMMIT"
            )
            # Writes are fewer at once (posts share transactions, batches take turns) and wait
            # for a connection of their own. Their statements are planned for the values given:
            # a generic plan kept for the connection's life fits neither a 1-key and a 2,000-key
            # lookup nor a table that has grown since (app/tuning.WRITE_PLANS).
            self._writer = _postgres_engine(self.url, pool_size, 0, settings=WRITE_PLANS)
            # A batch's statements are never prepared instead, which plans each of them for its
            # values as well, while the foreign-key check run for every row a batch inserts
            # keeps PostgreSQL's plan cache: forced custom plans re-planned every one of those
            # checks, a tenth of the database's time in batch ingestion. Posts of one event
            # stay prepared: a group of them runs a dozen small statements, whose parsing
            # costs more than those few checks' planning. The process's batches take turns, so
            # a few connections serve them.
            self._batches = _postgres_engine(self.url, batch_pool_size, 0, prepared=False)

    @property
    def single_writer(self) -> bool:
        """Whether a write transaction holds the whole database's one write lock (SQLite), which
        every other write, a read's audit row included, waits for."""
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        # An autocommitting connection has no transaction to begin or end.
        answers = self._answers.begin() if self.dialect == "sqlite" else self._answers.connect()
        async with _unavailable_on_disconnect(), answers as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with _unavailable_on_disconnect(), self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction for a batch of events (on SQLite, any write)."""
        async with _unavailable_on_disconnect(), self._batches.begin() as conn:
            yield conn

    @asynccontextmanager
    async def write_one(self) -> AsyncIterator[AsyncConnection]:
        """Writes whose statements each commit by themselves on PostgreSQL: a write that is a
        single statement, without the round trips of BEGIN and COMMIT, or upkeep such as
        ANALYZE, which then holds each table's lock only while it runs. On SQLite, a write
        transaction, taking the write lock as any write does."""
        writes = self._writer.begin() if self.dialect == "sqlite" else self._answers.connect()
        async with _unavailable_on_disconnect(), writes as conn:
            yield conn

    async def open(self) -> None:
        """On PostgreSQL, open the read pool's steady connections now.

        A new connection is a new server process, a few milliseconds of both cores. Opened on
        demand, they were all opened at once by the first burst of reads after a start, and the
        views waiting for them set the p99 of the first seconds (docs/performance.md). SQLite's
        connections are a file opened, and stay lazy. They are opened at once, not one after
        another: the largest step of start-up on PostgreSQL.
        """
        if self.dialect == "sqlite":
            return
        async with _unavailable_on_disconnect(), AsyncExitStack() as held:
            # Held together, so each is a connection of its own; all go back to the pool.
            try:
                async with asyncio.TaskGroup() as opening:
                    for _ in range(_status(self._answers).size):
                        opening.create_task(held.enter_async_context(self._answers.connect()))
            except ExceptionGroup as failed:
                # The first failure stopped the others; it is the one to report.
                raise failed.exceptions[0] from None

    def pool_status(self) -> dict[str, PoolStatus]:
        """Each pool of this process by name: `read` (answers), `write` and `batch` (the same
        pool as `write` on SQLite)."""
        return {
            "read": _status(self._answers),
            "write": _status(self._writer),
            "batch": _status(self._batches),
        }

    async def ping(self) -> None:
        async with _unavailable_on_disconnect(), self._answers.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self._answers.dispose()
        await self._writer.dispose()
        await self._batches.dispose()
