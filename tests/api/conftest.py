"""The `api` fixture: the app on an empty database of each backend, with a key for each role.

Starting an app (its routes, its pools, its HTTP clients) costs more than most API tests, so
each test process keeps one app per backend running and hands it to each test as a fresh
start would leave it (`started_again`): the database emptied, the admin key bootstrapped again,
the state it keeps in memory new. A test marked `fresh_app` gets an app of its own instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.support.api import Api, running, started_again


class SharedApps:
    """One running app per database, started when a test first needs it. An app on PostgreSQL
    is started anew after the server has restarted (tests/e2e/test_faults.py), since its pooled
    connections died with the server."""

    def __init__(self) -> None:
        self._apps: dict[str, tuple[Api, object, ExitStack]] = {}

    def app(self, url: str, engine: Engine) -> Api:
        started = _server_started(engine)
        if url in self._apps and self._apps[url][1] != started:
            self._apps.pop(url)[2].close()
        if url not in self._apps:
            stack = ExitStack()
            self._apps[url] = (stack.enter_context(running(url)), started, stack)
        return self._apps[url][0]

    def close(self) -> None:
        for _, _, stack in self._apps.values():
            stack.close()


def _server_started(engine: Engine) -> object:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_postmaster_start_time()")).scalar_one()


@pytest.fixture(scope="session")
def shared_apps() -> Iterator[SharedApps]:
    apps = SharedApps()
    yield apps
    apps.close()


@pytest.fixture
def api(database_url: str, request: pytest.FixtureRequest) -> Iterator[Api]:
    if request.node.get_closest_marker("fresh_app"):
        with running(database_url) as client:
            yield client
        return
    backend = "postgres" if make_url(database_url).get_backend_name() == "postgresql" else "sqlite"
    url, engine = request.getfixturevalue(f"{backend}_database")
    shared: SharedApps = request.getfixturevalue("shared_apps")
    yield started_again(shared.app(url, engine))
