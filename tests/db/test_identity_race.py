"""Two organisations' writers introducing the same new person at once end with one person.

Writers of different organisations run side by side on PostgreSQL (app/db/locks.py), so both
can decide that an identifier names nobody yet. The second to store it must find the first's
person and attach its events there, not make a second person or fail.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import Database
from app.db.tables import EventRow, IdentifierRow, PersonRow, table
from app.domain.rules import Rules
from app.services import events as event_service
from app.services import ingest
from app.services.ingest import submissions
from app.services.principal import Principal
from tests.conftest import empty
from tests.support.locks import backend_pid, waits_for

TODAY = date(2026, 11, 26)
PERSON = {"crn": "X123456", "nomis": "A1234BC"}


class Held:
    """A writer's transaction kept open once its work is done: `stored` gets its backend's pid
    then, and it commits once `release` is set."""

    def __init__(self) -> None:
        self.stored: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.release = asyncio.Event()

    async def keep_open(self, conn: AsyncConnection) -> None:
        self.stored.set_result(await backend_pid(conn))
        await self.release.wait()


async def _post(
    db: Database, org: str, event: dict[str, Any], held: Held | None = None
) -> ingest.Outcome:
    who = Principal(key_id=f"key-{org}", org=org, roles=frozenset({"submitter"}))
    item = submissions.parse(event, 0, TODAY)
    async with db.write() as conn:
        outcome = await ingest.ingest(conn, who, [item], atomic=False, rules=Rules())
        if held is not None:
            await held.keep_open(conn)  # its identifiers are not yet committed
    return outcome


async def _waits(db: Database, held: Held, second: asyncio.Task[Any]) -> bool:
    """Whether `second` comes to wait for a lock of the held writer's, and is still waiting
    (not done) when that is seen; then the held writer commits."""
    try:
        return await waits_for(db, await held.stored) and not second.done()
    finally:
        held.release.set()


def _count(engine: Engine, row: type[Any]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(row))).scalar_one())


def test_the_second_writer_attaches_to_the_first_writers_new_person(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    empty(engine)
    release = {
        "event_id": "rel-1",
        "type": "prison.released",
        "occurred_on": "2026-03-02",
        "person": PERSON,
        "data": {"prison": "MDI", "release_type": "conditional_release"},
    }
    referral = {
        "event_id": "ref-1",
        "type": "community.referral.received",
        "occurred_on": "2026-03-03",
        "person": {"crn": PERSON["crn"]},
        "data": {"provider": "PROVIDER-WIGAN"},
    }

    async def race() -> tuple[ingest.Outcome, ingest.Outcome, bool]:
        db = Database(url)
        try:
            held = Held()
            first = asyncio.create_task(_post(db, "HMP-MDI-HC", release, held))
            await held.stored  # the first has stored its person, uncommitted
            second = asyncio.create_task(_post(db, "PROVIDER-WIGAN", referral))
            # Held at the identifier the first has not committed.
            waited = await _waits(db, held, second)
            return await first, await second, waited
        finally:
            await db.dispose()

    first, second, waited = asyncio.run(race())
    assert waited
    assert [r.status for r in (*first.results, *second.results)] == ["accepted", "accepted"]
    assert second.results[0].person_id == first.results[0].person_id
    assert _count(engine, PersonRow) == 1
    assert _count(engine, IdentifierRow) == 2
    with engine.connect() as conn:
        owners = conn.execute(select(table(EventRow).c.person_id).distinct()).scalars().all()
    assert owners == [first.results[0].person_id]


async def _retract(db: Database, org: str, event_id: str, held: Held) -> None:
    who = Principal(key_id=f"key-{org}", org=org, roles=frozenset({"submitter"}))
    async with db.write() as conn:
        await event_service.retract(conn, who, event_id, "wrong person", Rules())
        await held.keep_open(conn)  # the identifier is released, uncommitted


def _referral(event_id: str, person: dict[str, str]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "community.referral.received",
        "occurred_on": "2026-03-03",
        "person": person,
        "data": {"provider": "PROVIDER-WIGAN"},
    }


def _holders(engine: Engine) -> dict[tuple[str, str], tuple[str, int]]:
    found = table(IdentifierRow)
    with engine.connect() as conn:
        rows = conn.execute(
            select(found.c.scheme, found.c.value, found.c.person_id, found.c.carriers)
        )
        return {(s, v): (p, c) for s, v, p, c in rows}


def test_a_writer_that_read_an_identifier_being_released_decides_again(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    empty(engine)

    async def race() -> tuple[ingest.Outcome, ingest.Outcome, bool]:
        db = Database(url)
        try:
            first = await _post(db, "HMP-MDI-HC", _referral("ref-1", {"nomis": "A1234BC"}))
            link = _referral("link", {"nomis": "A1234BC", "crn": "X123456"})
            await _post(db, "PROVIDER-WIGAN", link)
            held = Held()
            retraction = asyncio.create_task(_retract(db, "PROVIDER-WIGAN", "link", held))
            await held.stored  # the CRN's row is deleted, uncommitted
            later = _referral("ref-2", {"crn": "X123456"})
            second = asyncio.create_task(_post(db, "PROVIDER-LEEDS", later))
            # It read the CRN as the person's and waits for them.
            waited = await _waits(db, held, second)
            await retraction
            return first, await second, waited
        finally:
            await db.dispose()

    first, second, waited = asyncio.run(race())
    assert waited
    assert second.results[0].status == "accepted"
    # Released before the second post could attach to it: the CRN names a new person now.
    assert second.results[0].person_id != first.results[0].person_id
    assert _holders(engine) == {
        ("nomis", "A1234BC"): (first.results[0].person_id, 1),
        ("crn", "X123456"): (second.results[0].person_id, 1),
    }


def test_two_writers_giving_one_person_different_crns_cannot_both_succeed(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    empty(engine)

    async def race() -> tuple[ingest.Outcome, ingest.Outcome, ingest.Outcome, bool]:
        db = Database(url)
        try:
            known = await _post(db, "HMP-MDI-HC", _referral("ref-0", {"nomis": "A1234BC"}))
            held = Held()
            one = _referral("ref-1", {"nomis": "A1234BC", "crn": "X123456"})
            first = asyncio.create_task(_post(db, "PROVIDER-WIGAN", one, held))
            await held.stored
            two = _referral("ref-2", {"nomis": "A1234BC", "crn": "X654321"})
            second = asyncio.create_task(_post(db, "PROVIDER-LEEDS", two))
            waited = await _waits(db, held, second)
            return known, await first, await second, waited
        finally:
            await db.dispose()

    known, first, second, waited = asyncio.run(race())
    assert waited
    assert first.results[0].status == "accepted"
    refused = second.results[0]
    assert refused.status == "rejected" and refused.problem is not None
    assert refused.problem.slug == "identity-conflict"
    person_id = known.results[0].person_id
    assert _holders(engine) == {
        ("nomis", "A1234BC"): (person_id, 2),
        ("crn", "X123456"): (person_id, 1),
    }
