"""The national benchmark's bulk loader stores what ingestion would: its release versions are
those a fresh derivation from the events it stored gives, so the reads it times are real."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from bench import national
from tests.conftest import empty
from tests.support.expected import stored_and_fresh


def test_bulk_loaded_records_equal_a_fresh_derivation(
    postgres_database: tuple[str, Engine],
) -> None:
    url, engine = postgres_database
    empty(engine)
    events, versions = national.load(url, 300)
    with engine.connect() as conn:
        stored: Any = conn.execute(
            text("SELECT (SELECT count(*) FROM event), (SELECT count(*) FROM release_version)")
        ).one()
    assert tuple(stored) == (events, versions)
    assert versions > 300
    stored_versions, fresh_versions = stored_and_fresh(url)
    assert stored_versions == fresh_versions
