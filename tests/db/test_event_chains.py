"""A late arrival's correction chain is found in the index of corrections (migration 0006), not
by reading every event of its organisation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool

from app.db import events
from app.db.engine import Database
from tests.conftest import migrated_postgres

ORG = "HMP-MDI-HC"
OTHER_EVENTS = 2_000
INSERT_EVENT = text(
    "INSERT INTO event (org, event_id, root_event_id, person_id, type, occurred_on, person,"
    " data, corrects, content_hash, received_at) VALUES (:org, :event_id, :root, :person_id,"
    " 'community.referral.received', :on, '{}', '{}', :corrects, 'x', :at)"
)


@pytest.fixture
def postgres() -> Iterator[tuple[str, Engine]]:
    """A database of this test's own, so that only its statements move the table's counters."""
    with migrated_postgres(poolclass=NullPool) as made:
        yield made


def _store(engine: Engine) -> str:
    """An organisation's events: many that correct nothing, and one correction of an event
    not yet stored ("late"), about its own person, whose id is returned."""
    now, on = datetime.now(UTC), date(2026, 3, 2)
    people = [str(uuid.uuid4()) for _ in range(OTHER_EVENTS + 1)]
    plain = [
        {"event_id": f"e-{n}", "root": f"e-{n}", "person_id": p, "corrects": None}
        for n, p in enumerate(people[:-1])
    ]
    correction = {"event_id": "fix", "root": "late", "person_id": people[-1], "corrects": "late"}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO person (person_id, created_at) VALUES (:p, :at)"),
            [{"p": p, "at": now} for p in people],
        )
        conn.execute(INSERT_EVENT, [{**e, "org": ORG, "on": on, "at": now} for e in plain])
        conn.execute(INSERT_EVENT, {**correction, "org": ORG, "on": on, "at": now})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE event"))
    return people[-1]


def _event_rows_read(engine: Engine) -> int:
    with engine.connect() as conn:
        query = text(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_user_tables WHERE relname = 'event'"
        )
        return int(conn.execute(query).scalar_one())


def test_a_late_arrival_reads_its_chain_alone(postgres: tuple[str, Engine]) -> None:
    url, engine = postgres
    corrected_person = _store(engine)

    async def arrive_late() -> set[str]:
        db = Database(url)
        try:
            async with db.write() as conn:
                people = await events.people_of_chains(conn, ORG, ["late"])
                await events.move_lineage(conn, ORG, {"late": "first"})
                return people
        finally:
            # A server process publishes its counters when it ends, if not before.
            await db.dispose()

    before = _event_rows_read(engine)
    assert asyncio.run(arrive_late()) == {corrected_person}
    read = _event_rows_read(engine) - before
    with engine.connect() as conn:
        roots = conn.execute(text("SELECT root_event_id FROM event WHERE corrects = 'late'"))
        assert roots.scalars().all() == ["first"]
    # The correction, once by each statement; not the organisation's other events.
    assert read <= 2, f"{read} rows of event read"
