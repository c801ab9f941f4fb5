"""Reads show the record each release version stores, and still derive it for versions stored
before records were kept (migration 0004 left those NULL)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import create_engine, update

from app.db.engine import sync_url
from app.db.tables import ReleaseVersionRow, table
from tests.support.api import Api
from tests.support.builders import example_a, example_b
from tests.support.histories import envelope

PEOPLE = ({"crn": "A123456"}, {"crn": "B123456"})
AS_OF_DATES = ("2026-03-05", "2026-04-01", "2026-07-01")


def _post_examples(api: Api) -> None:
    for n, (person, events) in enumerate(zip(PEOPLE, (example_a(), example_b()), strict=True)):
        named = [replace(e, lineage=f"x{n}-{i}") for i, e in enumerate(events)]
        answer = api.batch([envelope(e, person) for e in named])
        assert answer.json()["accepted"] == len(named), answer.text


def _reads(api: Api) -> list[object]:
    shown: list[object] = []
    for as_of in AS_OF_DATES:
        shown += [api.person("crn", p["crn"], as_of=as_of).json() for p in PEOPLE]
        shown.append(api.releases(as_of=as_of).json())
        shown.append(api.releases(as_of=as_of, format="csv").text)
    return shown


def _forget_stored_records(database_url: str) -> int:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            versions = table(ReleaseVersionRow)
            return conn.execute(update(versions).values(record=None)).rowcount
    finally:
        engine.dispose()


def test_versions_without_a_stored_record_read_the_same(api: Api, database_url: str) -> None:
    _post_examples(api)
    stored = _reads(api)
    assert any(page["releases"] for page in stored if isinstance(page, dict) and "releases" in page)
    assert _forget_stored_records(database_url) > 0
    assert _reads(api) == stored


def test_a_new_event_stores_the_records_again(api: Api, database_url: str) -> None:
    _post_examples(api)
    before = _reads(api)
    _forget_stored_records(database_url)
    exit = {
        "event_id": "early-exit",
        "type": "community.treatment.exited",
        "occurred_on": "2026-03-20",
        "person": PEOPLE[0],
        "data": {"provider": "PROVIDER-WIGAN", "reason": "dropped_out"},
    }
    assert api.post(exit).status_code == 201
    after = _reads(api)
    assert after != before  # example A's person has disengaged by April
    assert _forget_stored_records(database_url) > 0
    assert _reads(api) == after
