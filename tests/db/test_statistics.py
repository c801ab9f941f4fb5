"""Planner statistics kept in step with posts (app/db/statistics.py): which tables a round
analyses, that processes take turns, and that each server process keeps at it."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.db import locks, statistics
from app.db.engine import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import migrated_postgres

PEOPLE = statistics.LEAST_CHANGED + 10
INSERT = text("INSERT INTO person (person_id, created_at) VALUES (:person_id, :created_at)")


def _add_people(engine: Engine, count: int) -> None:
    """Insert `count` people, and publish this session's table counts now rather than within
    the second PostgreSQL allows itself."""
    now = datetime.now(UTC)
    rows = [{"person_id": str(uuid.uuid4()), "created_at": now} for _ in range(count)]
    _publish(engine, lambda conn: conn.execute(INSERT, rows))


def _publish(engine: Engine, write: Callable[[Connection], object]) -> None:
    """Commit `write`, then have the same server process publish its table counts at once
    (otherwise it may wait up to a second, or ten once idle)."""
    with engine.connect() as conn:
        write(conn)
        conn.commit()
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        conn.commit()


def _add_events(engine: Engine, org: str, count: int) -> None:
    """Insert `count` events of `org`, each about a person of its own."""
    now = datetime.now(UTC)
    people = [{"person_id": str(uuid.uuid4()), "created_at": now} for _ in range(count)]
    events = [
        {
            "org": org,
            "event_id": f"{org}-{n}",
            "person_id": person["person_id"],
            "on": date(2026, 3, 2),
            "at": now,
        }
        for n, person in enumerate(people)
    ]
    insert = text(
        "INSERT INTO event (org, event_id, root_event_id, person_id, type, occurred_on,"
        " person, data, content_hash, received_at) VALUES (:org, :event_id, :event_id,"
        " :person_id, 'prison.released', :on, '{}', '{}', 'x', :at)"
    )

    def write(conn: Connection) -> None:
        conn.execute(INSERT, people)
        conn.execute(insert, events)

    _publish(engine, write)


def _counted(engine: Engine, table: str) -> float:
    """The table's row count as the planner knows it (-1: never analysed)."""
    with engine.connect() as conn:
        query = text("SELECT reltuples FROM pg_class WHERE relname = :table")
        return float(conn.execute(query, {"table": table}).scalar_one())


# A round's ANALYZE of person waiting for the table's lock, as this database's entry in
# PostgreSQL's lock table shows it (not granted), whatever other databases' rounds are doing.
WAITING = text(
    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
    " WHERE NOT granted AND relation = 'person'::regclass AND query = 'ANALYZE person'"
    " AND pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _refresh_due(database_url: str) -> list[str]:
    async def once() -> list[str]:
        db = Database(database_url)
        try:
            return await statistics.refresh_due(db)
        finally:
            await db.dispose()

    return asyncio.run(once())


@pytest.fixture(scope="module")
def own_database() -> Iterator[tuple[str, Engine]]:
    """A PostgreSQL database of this module's own: the shared one's table counts move whenever
    another test's server process gets round to publishing them. A connection per use, so no
    pooled one holds counts not yet published."""
    with migrated_postgres(poolclass=NullPool) as made:
        yield made


@pytest.fixture
def postgres(own_database: tuple[str, Engine]) -> tuple[str, Engine]:
    """That database, empty, with nothing left due by the module's earlier tests."""
    url, engine = own_database
    tables = ", ".join(statistics.GROWN)
    _publish(engine, lambda conn: conn.execute(text(f"TRUNCATE {tables} CASCADE")))
    _refresh_due(url)
    return url, engine


def test_a_table_grown_past_the_threshold_is_analysed_once(
    postgres: tuple[str, Engine],
) -> None:
    url, engine = postgres
    _add_people(engine, PEOPLE)
    assert "person" in _refresh_due(url)
    assert _counted(engine, "person") == PEOPLE
    # Nothing has changed since: the next round leaves it alone.
    assert "person" not in _refresh_due(url)


def test_a_table_changed_below_the_threshold_is_left_alone(postgres: tuple[str, Engine]) -> None:
    url, engine = postgres
    _add_people(engine, PEOPLE)
    _refresh_due(url)
    # LEAST_CHANGED more rows plus half of PEOPLE would be due; fewer are not.
    _add_people(engine, statistics.LEAST_CHANGED // 2)
    assert "person" not in _refresh_due(url)
    assert _counted(engine, "person") == PEOPLE


def test_a_process_skips_its_round_while_another_is_analysing(
    postgres: tuple[str, Engine],
) -> None:
    url, engine = postgres
    _add_people(engine, PEOPLE)
    before = _counted(engine, "person")

    async def round_while_another_holds_the_turn() -> list[str]:
        db = Database(url)
        try:
            async with db.write_one() as other, locks.held_if_free(other, "statistics") as turn:
                assert turn
                return await statistics.refresh_due(db)
        finally:
            await db.dispose()

    assert asyncio.run(round_while_another_holds_the_turn()) == []
    assert _counted(engine, "person") == before != PEOPLE
    assert "person" in _refresh_due(url)


def test_a_new_organisations_events_are_found_by_id_after_a_refresh(
    postgres: tuple[str, Engine],
) -> None:
    url, engine = postgres
    _add_events(engine, "HMP-MDI-HC", PEOPLE)
    assert "event" in _refresh_due(url)
    with engine.connect() as conn:
        gathered = conn.execute(
            text("SELECT attname FROM pg_stats WHERE tablename = 'event' ORDER BY attname")
        ).scalars()
        assert "person_id" in list(gathered)
        lookup = text(
            "EXPLAIN SELECT * FROM event"
            " WHERE org = 'PROVIDER-NEW' AND event_id = ANY(ARRAY['a', 'b'])"
        )
        plan = "\n".join(conn.execute(lookup).scalars())
    # No statistics of the organisation column, so none saying the new one has no events: the
    # ids are looked up in their index, not filtered out of everything the organisation has.
    assert "uq_event_org_event_id" in plan
    assert "Filter" not in plan


def test_a_round_holds_one_tables_lock_at_a_time(postgres: tuple[str, Engine]) -> None:
    url, engine = postgres
    _add_events(engine, "HMP-MDI-HC", PEOPLE)  # event and person grown: analysed in that order
    analysed: list[list[str]] = []
    with engine.connect() as other:
        other.execute(text("LOCK TABLE person IN ACCESS EXCLUSIVE MODE"))
        round_ = threading.Thread(target=lambda: analysed.append(_refresh_due(url)))
        round_.start()
        deadline = time.monotonic() + 20
        with engine.connect() as watch:
            # A transaction reads pg_stat_activity once: each look is a transaction of its own.
            while not watch.execute(WAITING).scalar_one() and time.monotonic() < deadline:
                watch.rollback()
                time.sleep(0.02)
            assert time.monotonic() < deadline, "the round never waited for person"
        # The round waits for person, having analysed event: event's lock is free again (held
        # with person's, this would wait in a cycle until PostgreSQL broke it).
        other.execute(text("SET LOCAL lock_timeout = '5s'"))
        other.execute(text("LOCK TABLE event IN ACCESS EXCLUSIVE MODE"))
        other.commit()
    round_.join(timeout=20)
    assert analysed == [["event", "person"]]


def test_a_round_cancelled_midway_ends_and_frees_the_turn(postgres: tuple[str, Engine]) -> None:
    url, engine = postgres
    _add_people(engine, PEOPLE)

    async def turn_is_free() -> bool:
        db = Database(url)
        try:
            async with db.write_one() as conn, locks.held_if_free(conn, "statistics") as turn:
                return turn
        finally:
            await db.dispose()

    async def cancel_while_analysing(other: Connection) -> tuple[bool, bool]:
        db = Database(url)
        task = asyncio.create_task(statistics.keep_up(db, 0.01))
        try:
            deadline = time.monotonic() + 20
            with engine.connect() as watch:
                while not watch.execute(WAITING).scalar_one() and time.monotonic() < deadline:
                    watch.rollback()
                    await asyncio.sleep(0.02)
            assert time.monotonic() < deadline, "the round never waited for person"
            task.cancel()
            await asyncio.wait([task], timeout=5)
            # Asked while the process that was cancelled still has its connections.
            return task.cancelled(), await turn_is_free()
        finally:
            # Whatever the outcome, stop the task: with person free its rounds are short, and
            # a cancellation lands between them.
            other.rollback()
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.1)
            await db.dispose()

    with engine.connect() as other:
        other.execute(text("LOCK TABLE person IN ACCESS EXCLUSIVE MODE"))
        # A stopping server process cancels the task wherever it is. It must end, not go round
        # again (the process waits for it), and leave no pooled connection holding the turn.
        ended, free = asyncio.run(cancel_while_analysing(other))
    assert ended
    assert free


async def _sleeping(db: Database) -> bool:
    """Whether a backend of this database is running `pg_sleep` within 20 seconds."""
    running = text(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
        " AND query = 'SELECT pg_sleep(5)' AND datname = current_database()"
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        async with db.read() as conn:
            if (await conn.execute(running)).scalar_one():
                return True
        await asyncio.sleep(0.02)
    return False


def test_a_turn_cancelled_midway_is_given_up_and_the_cancellation_kept(
    postgres: tuple[str, Engine],
) -> None:
    url, _ = postgres

    async def cancelled_inside_the_turn() -> tuple[bool, bool]:
        db = Database(url)
        other = Database(url)

        async def hold_the_turn() -> None:
            async with db.write_one() as conn, locks.held_if_free(conn, "statistics") as turn:
                assert turn
                await conn.execute(text("SELECT pg_sleep(5)"))

        try:
            task = asyncio.create_task(hold_the_turn())
            assert await _sleeping(db), "the turn's statement never started"
            # Cancelled mid-statement, the connection wants a rollback and the release fails
            # on it; the task must still end as cancelled, not with that failure.
            task.cancel()
            await asyncio.wait([task], timeout=5)
            async with other.write_one() as conn, locks.held_if_free(conn, "statistics") as free:
                # Asked while the first pool is still open.
                return task.cancelled(), free
        finally:
            await db.dispose()
            await other.dispose()

    cancelled, free = asyncio.run(cancelled_inside_the_turn())
    assert cancelled
    assert free


def test_sqlite_is_left_alone(sqlite_database: tuple[str, Engine]) -> None:
    url, _ = sqlite_database
    assert _refresh_due(url) == []


def test_each_server_process_keeps_the_statistics_up(postgres: tuple[str, Engine]) -> None:
    url, engine = postgres
    app = create_app(Settings(database_url=url, analyze_seconds=0.05))

    async def serve_while_people_are_added() -> float:
        async with app.router.lifespan_context(app):
            await asyncio.to_thread(_add_people, engine, PEOPLE)
            deadline = time.monotonic() + 20
            while _counted(engine, "person") != PEOPLE and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return _counted(engine, "person")

    assert asyncio.run(serve_while_people_are_added()) == PEOPLE


def test_no_server_task_when_the_interval_is_zero(postgres: tuple[str, Engine]) -> None:
    url, engine = postgres
    before = _counted(engine, "person")
    app = create_app(Settings(database_url=url, analyze_seconds=0))

    async def serve_while_people_are_added() -> float:
        async with app.router.lifespan_context(app):
            await asyncio.to_thread(_add_people, engine, PEOPLE)
            await asyncio.sleep(1)  # twenty rounds' worth at the other test's interval
            return _counted(engine, "person")

    assert asyncio.run(serve_while_people_are_added()) == before != PEOPLE


def test_a_failed_round_is_logged_and_the_next_one_tries_again(
    postgres: tuple[str, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = postgres
    missing = make_url(url).set(database=f"joinup_missing_{uuid.uuid4().hex[:8]}")

    async def keep_up_for_a_while() -> bool:
        db = Database(missing.render_as_string(hide_password=False))
        task = asyncio.create_task(statistics.keep_up(db, 0.02))
        try:
            await asyncio.sleep(0.5)
            return task.done()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await db.dispose()

    with caplog.at_level(logging.WARNING, logger="joinup.statistics"):
        stopped = asyncio.run(keep_up_for_a_while())
    assert not stopped
    failures = [r for r in caplog.records if "could not refresh" in r.getMessage()]
    assert len(failures) >= 2
