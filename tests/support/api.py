"""A thin client for the API tests: keys for each role, and the calls the contract names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from app.api.deps import Runtime
from app.api.ratelimit import RateLimiter
from app.db.engine import Database
from app.domain.vocabulary import EventType
from app.main import create_app
from app.services import clock
from app.services.keys import bootstrap_admin
from app.settings import Settings
from app.tuning.turns import Readers

ADMIN_SECRET = "test-admin-secret-0123456789"


def key_body(org: str, *roles: str, **more: Any) -> dict[str, Any]:
    """The body of `POST /v1/keys`: a submitter key may post every event type unless `more`
    says otherwise."""
    body: dict[str, Any] = {"org": org, "roles": list(roles), **more}
    if "submitter" in roles:
        body.setdefault("event_types", [str(kind) for kind in EventType])
    return body


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def as_bytes(header: str | bytes) -> bytes:
    """A header value as sent: bytes as given, text as httpx encodes it (ASCII)."""
    return header if isinstance(header, bytes) else header.encode("ascii")


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.admin = bearer(ADMIN_SECRET)

    @property
    def app(self) -> FastAPI:
        app = self.client.app
        assert isinstance(app, FastAPI)
        return app

    def key(self, org: str, *roles: str) -> dict[str, str]:
        answer = self.client.post("/v1/keys", json=key_body(org, *roles), headers=self.admin)
        assert answer.status_code == 201, answer.text
        return bearer(answer.json()["secret"])

    @cached_property
    def submitter(self) -> dict[str, str]:
        return self.key("PROVIDER-A", "submitter")

    @cached_property
    def other_submitter(self) -> dict[str, str]:
        return self.key("PROVIDER-B", "submitter")

    @cached_property
    def probation(self) -> dict[str, str]:
        return self.key("PROBATION-NW", "probation")

    @cached_property
    def coordinator(self) -> dict[str, str]:
        return self.key("COORD-NW", "coordinator")

    def post(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return self.client.post("/v1/events", json=event, headers=headers or self.submitter)

    def batch(
        self,
        events: list[Any],
        atomic: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = {"events": events, "atomic": atomic}
        return self.client.post("/v1/events/batch", json=body, headers=headers or self.submitter)

    def person(self, scheme: str, value: str, **params: str) -> Response:
        path = f"/v1/people/{scheme}/{value}"
        return self.client.get(path, params=params, headers=self.probation)

    def releases(self, **params: Any) -> Response:
        return self.client.get("/v1/releases", params=params, headers=self.coordinator)

    def metrics(self, **params: Any) -> Response:
        return self.client.get("/v1/metrics/continuity", params=params, headers=self.coordinator)


@contextmanager
def running(database_url: str, **settings: Any) -> Iterator[Api]:
    # The webhook worker runs only where a test asks for it (tests/e2e run the real default).
    settings.setdefault("inline_worker", False)
    app = create_app(Settings(database_url=database_url, admin_key=ADMIN_SECRET, **settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client)


def runtime_of(api: Api) -> Runtime:
    """What `api`'s app built at start-up and its requests share."""
    runtime: Runtime = api.app.state.runtime
    return runtime


def started_again(api: Api) -> Api:
    """`api`'s app, left running since an earlier test, as a fresh start on its (just emptied)
    database would be: the admin key bootstrapped again, and the state a process keeps in memory
    (rate limits, reads in flight, batch turns, clock offset, cookies) new. What it
    cannot renew (its Prometheus counters, routes a test added) a test that depends on it gets
    a new app for (`@pytest.mark.fresh_app`)."""
    client = api.client
    runtime = runtime_of(api)
    settings = runtime.settings
    clock.set_offset_days(settings.clock_offset_days)
    client.cookies.clear()
    assert client.portal is not None, "the app is not running"
    client.portal.call(_bootstrap_admin, runtime.db)
    api.app.state.runtime = replace(
        runtime,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        readers=Readers(),
        batch_turns=asyncio.Semaphore(settings.batch_concurrency),
    )
    return Api(client)


async def _bootstrap_admin(db: Database) -> None:
    async with db.write() as conn:
        await bootstrap_admin(conn, ADMIN_SECRET)
