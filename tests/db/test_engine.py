"""The database's units of work (app/db/engine.py): what runs in a transaction and what does not,
on each backend."""

from __future__ import annotations

import asyncio

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from app.db.audit import Trail
from app.db.engine import Database
from app.db.errors import DatabaseUnavailable

COUNT = text("SELECT count(*) FROM person")


def _in_transaction(database_url: str, unit: str) -> bool:
    """Whether a statement run in a `Database.<unit>()` ran inside an open transaction."""

    async def session() -> bool:
        db = Database(database_url)
        try:
            async with getattr(db, unit)() as conn:
                await conn.execute(COUNT)
                driver = (await conn.get_raw_connection()).driver_connection
                if db.dialect == "postgresql":
                    return bool(driver.info.transaction_status != TransactionStatus.IDLE)
                return bool(driver.in_transaction)
        finally:
            await db.dispose()

    return asyncio.run(session())


def test_reads_on_postgresql_autocommit_and_on_sqlite_keep_one_snapshot(database_url: str) -> None:
    # On PostgreSQL each statement of an answer takes its own snapshot anyway, so a transaction
    # would only add BEGIN and COMMIT; SQLite's read keeps one snapshot across its statements.
    opened = _in_transaction(database_url, "read")
    assert opened is database_url.startswith("sqlite")


def test_writes_are_transactions_on_both_databases(database_url: str) -> None:
    assert _in_transaction(database_url, "write")


def test_write_one_statements_commit_by_themselves_on_postgresql(database_url: str) -> None:
    # A read's audit insert needs no BEGIN and COMMIT, and an ANALYZE holds its table's lock
    # only while it runs (app/db/statistics.py).
    assert _in_transaction(database_url, "write_one") is database_url.startswith("sqlite")


def test_every_pool_is_reported(database_url: str) -> None:
    db = Database(database_url, pool_size=3, batch_pool_size=2)
    try:
        status = db.pool_status()
    finally:
        asyncio.run(db.dispose())
    assert set(status) == {"read", "write", "batch"}
    # SQLite has one writer connection per process, batches' too; PostgreSQL pools of the
    # configured sizes.
    assert status["read"].size == 3
    sizes = (1, 1) if database_url.startswith("sqlite") else (3, 2)
    assert (status["write"].size, status["batch"].size) == sizes
    # SQLite's one write lock is the whole database's; PostgreSQL's writers lock rows.
    assert db.single_writer is database_url.startswith("sqlite")


def test_reads_see_what_was_committed_meanwhile(database_url: str) -> None:
    # An answer's later statements see a write committed after its first one on PostgreSQL
    # (each statement its own snapshot); SQLite's read transaction does not (one snapshot).
    async def session() -> tuple[int, int]:
        db = Database(database_url)
        try:
            async with db.read() as reader:
                before = (await reader.execute(COUNT)).scalar_one()
                async with db.write() as writer:
                    await writer.execute(
                        text("INSERT INTO person VALUES ('p-1', CURRENT_TIMESTAMP)")
                    )
                after = (await reader.execute(COUNT)).scalar_one()
            return before, after
        finally:
            await db.dispose()

    before, after = asyncio.run(session())
    assert before == 0
    assert after == (0 if database_url.startswith("sqlite") else 1)


def test_open_connects_the_postgresql_read_pool_up_front(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    count = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")

    def connected() -> int:
        with engine.connect() as conn:
            return int(conn.execute(count).scalar_one())

    async def session() -> tuple[int, int]:
        db = Database(url, pool_size=3)
        try:
            before = connected()
            await db.open()
            return before, connected()
        finally:
            await db.dispose()

    before, after = asyncio.run(session())
    assert after - before == 3


def test_open_reports_a_database_it_cannot_reach_as_unavailable(
    postgres_database: tuple[str, Engine],
) -> None:
    missing = make_url(postgres_database[0]).set(database="joinup_no_such_database")

    async def session() -> int:
        db = Database(missing.render_as_string(hide_password=False), pool_size=3)
        try:
            with pytest.raises(DatabaseUnavailable, match="joinup_no_such_database"):
                await db.open()
            return db.pool_status()["read"].checked_out
        finally:
            await db.dispose()

    assert asyncio.run(session()) == 0


def test_postgresql_writes_plan_each_statement_for_its_values(
    postgres_database: tuple[str, Engine],
) -> None:
    # A generic plan kept for a connection's life fits neither lookups of 1 and of 2,000 keys
    # nor a table that has grown since it was made (see app/db/engine.py). A write forces custom
    # plans; a batch never prepares a statement (psycopg would, on its sixth use).
    lookup = text("SELECT count(*) FROM person WHERE person_id = :p")
    prepared = text("SELECT count(*) FROM pg_prepared_statements")

    async def session() -> tuple[str, int]:
        db = Database(postgres_database[0])
        try:
            async with db.write() as conn:
                mode = str((await conn.execute(text("SHOW plan_cache_mode"))).scalar_one())
            async with db.batch() as conn:
                for _ in range(10):
                    await conn.execute(lookup, {"p": "x"})
                return mode, int((await conn.execute(prepared)).scalar_one())
        finally:
            await db.dispose()

    assert asyncio.run(session()) == ("force_custom_plan", 0)


def test_a_read_whose_connection_the_database_drops_is_unavailable_not_an_error(
    postgres_database: tuple[str, Engine],
) -> None:
    """A restart ends a read's connection mid-read: the audited read answers 503 like any read,
    and its audit rows are not lost to a 500 from tidying the dropped connection."""
    url, engine = postgres_database

    async def read_while_dropped() -> None:
        db = Database(str(url))
        try:
            trail = Trail(db, most=10)
            async with trail.reading() as conn:
                backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                with engine.connect() as admin:
                    admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
                await conn.execute(text("SELECT 1"))
        finally:
            await db.dispose()

    with pytest.raises(DatabaseUnavailable):
        asyncio.run(read_while_dropped())
