"""The Alembic revisions build exactly the schema of app.db.tables, and come down cleanly."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.cli import ROOT, alembic_config
from app.db import notification_tables  # noqa: F401 (its tables join Base.metadata)
from app.db.engine import sync_url
from app.db.release_metrics import COUNT_COLUMNS
from app.db.tables import Base
from app.domain.vocabulary import EventType


@pytest.fixture
def scratch_url(request: pytest.FixtureRequest, database_url: str) -> Iterator[str]:
    """The test database, taken down to empty first so the revisions start from nothing."""
    command.downgrade(alembic_config(database_url), "base")
    yield database_url
    command.upgrade(alembic_config(database_url), "head")


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_and_downgrade_to_empty(scratch_url: str) -> None:
    assert _tables(scratch_url) == set()
    command.upgrade(alembic_config(scratch_url), "head")
    assert _tables(scratch_url) == set(Base.metadata.tables)
    command.downgrade(alembic_config(scratch_url), "base")
    assert _tables(scratch_url) == set()


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_stored_tally_bits_keep_the_order_migration_0003_packed() -> None:
    # Reordering Tally's fields would silently misread every stored record's metric bits.
    path = ROOT / "migrations" / "versions" / "2026-11-26_release_tally_bits.py"
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.COUNTS == COUNT_COLUMNS


def test_a_migrated_sqlite_database_is_in_wal_mode(tmp_path: Path) -> None:
    # Set once before the server's processes start: several setting it at once fail.
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    finally:
        engine.dispose()


def test_keys_made_before_event_types_keep_every_type(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "0120")
    engine = create_engine(sync_url(scratch_url))
    rows = [("k1", "submitter"), ("k2", "probation,coordinator"), ("k3", "submitter,admin")]
    try:
        with engine.begin() as conn:
            for key_id, roles in rows:
                conn.execute(
                    text(
                        "INSERT INTO api_key (key_id, org, roles, label, secret_hash, created_at) "
                        "VALUES (:k, 'ORG', :r, '', :h, CURRENT_TIMESTAMP)"
                    ),
                    {"k": key_id, "r": roles, "h": key_id * 20},
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT key_id, event_types FROM api_key ORDER BY key_id"))
            found = {key_id: types for key_id, types in stored}
    finally:
        engine.dispose()
    # PostgreSQL's driver decodes JSON; SQLite's gives the text.
    decoded = {k: json.loads(v) if isinstance(v, str) else v for k, v in found.items()}
    every = list(EventType)
    assert decoded == {"k1": every, "k2": None, "k3": every}
