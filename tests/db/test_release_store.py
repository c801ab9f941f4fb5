"""Storing a person's release versions leaves exactly the versions given, and on PostgreSQL
leaves a version that did not change as it was (re-deriving a person rewrites only what moved)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from app.db import release_writes
from app.db.engine import Database, sync_url
from tests.conftest import empty


def _version(person: str, release: str, start: str, end: str | None, stage: str) -> dict[str, Any]:
    return {
        "release_id": release,
        "valid_from": date.fromisoformat(start),
        "valid_until": date.fromisoformat(end) if end else None,
        "person_id": person,
        "released_on": date(2025, 3, 1),
        "prison": "MDI",
        "release_type": "licence",
        "local_authority": None,
        "probation_region": "North East",
        "community_provider": None,
        "stage": stage,
        "open_flags": 16,
        "tally": 5,
        "record": {"stage": stage, "gaps": [{"code": "not_picked_up", "since": start}]},
    }


BEFORE = [
    _version("p1", "r1", "2025-03-01", "2025-03-10", "released"),
    _version("p1", "r1", "2025-03-10", "2025-04-01", "picked_up"),
    _version("p1", "r1", "2025-04-01", None, "retained"),
    _version("p1", "r2", "2025-06-01", None, "released"),
]
# r1's first version as it was, its second changed, its third gone, a new fourth; r2's record
# alone changed.
AFTER = [
    BEFORE[0],
    _version("p1", "r1", "2025-03-10", "2025-03-20", "picked_up"),
    _version("p1", "r1", "2025-03-20", None, "disengaged"),
    {**BEFORE[3], "record": {"stage": "released", "gaps": []}},
]
SOMEONE_ELSE = [_version("p2", "r3", "2025-01-01", None, "released")]


def _replace(url: str, people: list[str], rows: list[dict[str, Any]]) -> None:
    async def run() -> None:
        db = Database(url)
        try:
            async with db.write() as conn:
                await release_writes.replace_for_people(conn, people, rows)
        finally:
            await db.dispose()

    asyncio.run(run())


def _stored(engine: Engine) -> dict[tuple[str, date], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM release_version")).mappings().all()
    found = {}
    for row in rows:
        version = dict(row)
        if isinstance(version["record"], str):  # SQLite's JSON column reads back as text
            version["record"] = json.loads(version["record"])
        for column in ("valid_from", "valid_until", "released_on"):
            if isinstance(version[column], str):
                version[column] = date.fromisoformat(version[column])
        found[(version["release_id"], version["valid_from"])] = version
    return found


def _keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, date], dict[str, Any]]:
    return {(row["release_id"], row["valid_from"]): row for row in rows}


def _with_people(engine: Engine) -> None:
    empty(engine)
    with engine.begin() as conn:
        for person in ("p1", "p2"):
            conn.execute(
                text("INSERT INTO person (person_id, created_at) VALUES (:p, :at)"),
                {"p": person, "at": datetime(2025, 1, 1, tzinfo=UTC)},
            )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = create_engine(sync_url(database_url))
    yield made
    made.dispose()


def test_the_versions_given_become_the_persons_whole_history(
    database_url: str, engine: Engine
) -> None:
    _with_people(engine)
    _replace(database_url, [], BEFORE + SOMEONE_ELSE)
    assert _stored(engine) == _keyed(BEFORE + SOMEONE_ELSE)
    _replace(database_url, ["p1"], AFTER)
    assert _stored(engine) == _keyed(AFTER + SOMEONE_ELSE)
    _replace(database_url, ["p1"], [])
    assert _stored(engine) == _keyed(SOMEONE_ELSE)


def test_a_version_that_did_not_change_is_not_written_again(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    _with_people(engine)
    _replace(url, [], BEFORE)
    written = _writers(engine)
    _replace(url, ["p1"], AFTER)
    rewritten = _writers(engine)
    unchanged, changed = _keyed(AFTER[:1]), _keyed([AFTER[1], AFTER[3]])
    assert all(rewritten[key] == written[key] for key in unchanged)
    assert all(rewritten[key] != written[key] for key in changed)


def _writers(engine: Engine) -> dict[tuple[str, date], tuple[str, str]]:
    """Each version's row by the transactions that wrote it (xmin) and last locked or deleted it
    (xmax): a row left as it was keeps both."""
    with engine.connect() as conn:
        query = text("SELECT release_id, valid_from, xmin::text, xmax::text FROM release_version")
        return {
            (release, start): (xmin, xmax) for release, start, xmin, xmax in conn.execute(query)
        }
