"""Migration 0120 brings identifiers and places stored before CONTRACT §3.1 (2026-12-07) to the
forms the service now writes, and merges people split only by a PNC's spelling."""

from __future__ import annotations

import hashlib
import importlib.util
from types import ModuleType
from typing import Any

import orjson
from alembic import command
from sqlalchemy import create_engine, text

from app.cli import ROOT, alembic_config, migrate
from app.db.engine import sync_url
from app.domain.vocabulary import ProbationRegion
from app.settings import Settings
from tests.support.api import running
from tests.support.envelopes import crn, event, nomis, pnc

PNC_LONG = "2012/0052834K"
PNC_SHORT = "12/52834K"


def _revision() -> ModuleType:
    path = ROOT / "migrations" / "versions" / "2026-12-07_normalised_identifiers.py"
    spec = importlib.util.spec_from_file_location("migration_0120", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _legacy_hash(stored: Any, person: dict[str, str], data: dict[str, Any]) -> str:
    """The content hash as the service computed it when the event was posted in this form."""
    dumped = {
        "event_id": stored.event_id,
        "type": stored.type,
        "occurred_on": str(stored.occurred_on),
        "person": {s: person.get(s) for s in ("nomis", "crn", "nhs", "pnc")},
        "data": data,
        "corrects": stored.corrects,
    }
    return hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _as_written_before(url: str, event_id: str, person: dict[str, str], **data: Any) -> None:
    """Make a stored event, its person's identifiers and release records read as they would
    have before normalisation: `person` and `data` as given, its hash computed from them."""
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            stored = conn.execute(
                text("SELECT * FROM event WHERE event_id = :id"), {"id": event_id}
            ).one()
            old = orjson.loads(stored.person) if isinstance(stored.person, str) else stored.person
            old_data = orjson.loads(stored.data) if isinstance(stored.data, str) else stored.data
            new_data = {**old_data, **data}
            conn.execute(
                text("UPDATE event SET person = :p, data = :d, content_hash = :h WHERE seq = :s"),
                {
                    "p": orjson.dumps(person).decode(),
                    "d": orjson.dumps(new_data).decode(),
                    "h": _legacy_hash(stored, person, new_data),
                    "s": stored.seq,
                },
            )
            for scheme, value in person.items():
                conn.execute(
                    text("UPDATE identifier SET value = :new WHERE scheme = :s AND value = :old"),
                    {"new": value, "s": scheme, "old": old[scheme]},
                )
            for field, value in data.items():
                conn.execute(
                    text(f"UPDATE release_version SET {field} = :v WHERE person_id = :p"),
                    {"v": value, "p": stored.person_id},
                )
    finally:
        engine.dispose()


def _count(url: str, sql: str) -> int:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_stored_values_take_the_contract_forms_and_split_people_are_merged(
    database_url: str,
) -> None:
    first = {"nomis": nomis(1), "pnc": PNC_LONG}
    second = {"crn": crn(1), "pnc": pnc(77)}
    with running(database_url) as api:
        answer = api.batch(
            [
                event("prison.treatment.started", "t-1", person=first, occurred_on="2026-01-15"),
                event("prison.released", "r-1", person=first, occurred_on="2026-03-02"),
                event(
                    "community.treatment.started", "s-2", person=second, occurred_on="2026-03-05"
                ),
            ]
        )
        assert answer.json()["accepted"] == 3, answer.text
    command.downgrade(alembic_config(database_url), _revision().down_revision)
    _as_written_before(database_url, "s-2", {"crn": crn(1), "pnc": PNC_SHORT})
    _as_written_before(
        database_url, "r-1", first, probation_region="north east", local_authority="e06000047"
    )
    assert _count(database_url, "SELECT count(*) FROM person") == 2

    migrate(Settings(database_url=database_url))

    assert _count(database_url, "SELECT count(*) FROM person") == 1
    assert _count(database_url, "SELECT count(*) FROM release_version WHERE record IS NULL") == 0
    with running(database_url) as api:
        for scheme, value in (("pnc", PNC_SHORT), ("pnc", PNC_LONG), ("crn", crn(1))):
            view = api.person(scheme, value, as_of="2026-03-10")
            assert view.status_code == 200, view.text
            body = view.json()
            assert body["identifiers"] == {"nomis": nomis(1), "crn": crn(1), "pnc": PNC_LONG}
            [record] = body["releases"]
            # Derived again from both people's events: the pickup now counts.
            assert (record["stage"], record["picked_up_on"]) == ("in_treatment", "2026-03-05")
            assert (record["probation_region"], record["local_authority"]) == (
                "North East",
                "E06000047",
            )
        listed = api.releases(probation_region="North East", as_of="2026-03-10").json()["items"]
        assert [r["stage"] for r in listed] == ["in_treatment"]
        # The events, posted again as they were first written, are duplicates.
        again = api.post(
            event(
                "community.treatment.started",
                "s-2",
                person={"crn": crn(1), "pnc": PNC_SHORT},
                occurred_on="2026-03-05",
            )
        )
        assert again.json()["status"] == "duplicate", again.text


def test_people_holding_other_identifiers_that_differ_are_left_apart(database_url: str) -> None:
    first = {"nomis": nomis(1), "pnc": PNC_LONG}
    second = {"nomis": nomis(2), "pnc": pnc(77)}
    with running(database_url) as api:
        # One after the other: the PNC stays with the person made first.
        for posted in (
            api.post(event("naloxone.issued", "n-1", person=first)),
            api.post(event("naloxone.issued", "n-2", person=second)),
        ):
            assert posted.json()["status"] == "accepted", posted.text
    command.downgrade(alembic_config(database_url), _revision().down_revision)
    _as_written_before(database_url, "n-2", {"nomis": nomis(2), "pnc": PNC_SHORT})

    migrate(Settings(database_url=database_url))

    assert _count(database_url, "SELECT count(*) FROM person") == 2
    with running(database_url) as api:
        assert api.person("pnc", PNC_SHORT).json()["identifiers"]["nomis"] == nomis(1)
        assert api.person("nomis", nomis(2)).json()["identifiers"] == {"nomis": nomis(2)}


def test_the_migration_knows_the_regions_the_service_does() -> None:
    assert tuple(region.value for region in ProbationRegion) == _revision().REGIONS
