"""Fixtures shared by the database, API and end-to-end suites: one migrated database per backend
and test process.

Every test that takes `database_url` runs twice, on SQLite and on PostgreSQL, against a schema
built by the real migrations and emptied before the test. Under pytest-xdist each worker has
databases of its own (PostgreSQL `joinup_test_gw0_...`, a SQLite file in the worker's temporary
directory), made and migrated when its first test needs them. PostgreSQL comes from
JOINUP_TEST_POSTGRES_URL; when it cannot be reached the tests fail, they do not skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app.cli import migrate
from app.db.engine import sync_url
from app.settings import Settings

# How fast Hypothesis draws its examples says how busy the machine is (the tests run in
# parallel, on two cores shared with PostgreSQL and the servers under test), not whether the
# code is right: the too_slow health check and the per-example deadline would fail at random.
settings.register_profile("joinup", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("joinup")

POSTGRES_URL = os.environ.get(
    "JOINUP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TABLES = (
    "release_version",
    "event",
    "event_claim",
    "identifier",
    "person",
    "audit",
    "web_session",
    "api_key",
    "change",
    "release_notice",
    "change_sweep",
    "subscription",
    "delivery",
    "delivery_attempt",
    "hmpps_pending",
    "hmpps_tally",
)


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'joinup.db'}"
    migrate(Settings(database_url=url))
    engine = create_engine(sync_url(url))
    yield url, engine
    engine.dispose()


@contextmanager
def migrated_postgres(**engine_options: Any) -> Iterator[tuple[str, Engine]]:
    """A new PostgreSQL database built by the migrations, and an engine on it; dropped after."""
    # pool_pre_ping: tests/e2e/test_faults.py restarts the server under these engines.
    admin = create_engine(sync_url(POSTGRES_URL), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    # The worker's name says whose a leftover database was; the random part keeps two runs on one
    # server (two checkouts) apart.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"joinup_test_{worker}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    migrate(Settings(database_url=url))
    engine = create_engine(sync_url(url), **engine_options)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[tuple[str, Engine]]:
    with migrated_postgres(pool_pre_ping=True) as made:
        yield made


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated database on each backend in turn."""
    url, engine = request.getfixturevalue(f"{request.param}_database")
    empty(engine)
    return str(url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is marked `e2e`. Those whose servers use PostgreSQL run one
    after another on one xdist worker (`--dist loadgroup` in scripts/test): a server under load
    holds 40 or more PostgreSQL connections, and two at once beside the other workers' apps
    would pass the stock max_connections of 100. Those on SQLite go wherever there is room."""
    for item in items:
        if item.path.parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)
            if _on_postgres(item):
                item.add_marker(pytest.mark.xdist_group("e2e-postgres"))


def _on_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("database_url") == "postgres":
        return True
    fixtures = getattr(item, "fixturenames", ())
    return "postgres_database" in fixtures or "postgres_url" in fixtures
