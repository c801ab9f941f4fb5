"""The app factory: `create_app(settings)`. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import TypeAdapter
from starlette.routing import NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from app import tuning, web
from app.api import body, observability, problem_pages, problems, teaching
from app.api.deps import Runtime
from app.api.headers import DOCS_ASSETS
from app.api.limits import RequestGate
from app.api.prometheus import Metrics
from app.api.ratelimit import RateLimiter
from app.api.responses import document_problems
from app.api.routes import (
    audit,
    batches,
    changes,
    events,
    health,
    hmpps,
    keys,
    monitoring,
    people,
    releases,
    subscriptions,
)
from app.db import audit as audit_store
from app.db import schema as db_schema
from app.db import statistics
from app.db.engine import Database
from app.schemas.api import BatchResult
from app.schemas.events import EventCreate
from app.services import clock
from app.services import keys as key_service
from app.services.hmpps import intake, retries
from app.services.ingest.group_commit import GroupCommit
from app.services.notifications import delivery, secrets, worker
from app.settings import Settings

log = logging.getLogger("joinup")

DESCRIPTION = """
joinup keeps one join-up record per release of a person leaving prison with a drug or alcohol
treatment need: were they in treatment at release, picked up by community treatment within the
pickup window, still in treatment at 12 weeks, and what went missing on the way.

Providers post events (`/v1/events`); probation reads a person's handover view
(`/v1/people/{scheme}/{value}`); coordinators pull gap lists (`/v1/releases`) and continuity
metrics (`/v1/metrics/continuity`). Every `/v1` call carries `Authorization: Bearer <key>`.
Every error is `application/problem+json`; its `type` is `/problems/<slug>`, a page (on this
service) saying what the problem means and how to put it right. A query parameter an operation
does not take is refused (422, naming it and the ones it takes), so a misspelt filter never
returns an unfiltered list.
"""


def _described() -> str:
    """DESCRIPTION, then every problem type with its status and what it means."""
    listed = "\n".join(
        f"- [`{slug}`](/problems/{slug}) ({explained.status}): {explained.meaning}"
        for slug, explained in problem_pages.CATALOGUE.items()
    )
    return f"{DESCRIPTION}\n## Problem types\n\n{listed}\n"


async def _bootstrap(db: Database, settings: Settings) -> None:
    configured = settings.admin_key.get_secret_value() if settings.admin_key else None
    async with db.write() as conn:
        issued = await key_service.bootstrap_admin(conn, configured)
    if issued is not None:
        # Shown once, on the console of the first start; only its hash is stored.
        sys.stderr.write(
            f"\njoinup: no API keys existed, so an admin key was made.\n"
            f"joinup: key_id {issued.key_id}, secret (shown only now): {issued.secret}\n\n"
        )


def _keep_statistics_up(db: Database, settings: Settings) -> asyncio.Task[None] | None:
    """The task that keeps PostgreSQL's planner statistics in step with posts, if any."""
    if db.dialect != "postgresql" or not settings.analyze_seconds:
        return None
    return asyncio.create_task(statistics.keep_up(db, settings.analyze_seconds))


def delivering(settings: Settings) -> delivery.Delivering:
    """How this process delivers webhooks, from the settings."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    shared = not settings.database_url.startswith("sqlite")
    return delivery.Delivering(
        box=secrets.box(key, settings.secret_key_file, shared_database=shared),
        timeout=settings.webhook_timeout_seconds,
        retry_scale=settings.webhook_retry_scale,
        allow_insecure=settings.webhook_allow_insecure,
    )


def worker_of(
    db: Database, settings: Settings, how: delivery.Delivering, hub: intake.Hmpps
) -> worker.Worker:
    """The worker of a server process (JOINUP_INLINE_WORKER=1) or of `joinup worker`: webhooks,
    time-driven changes, and retrying the HMPPS domain events kept pending (CONTRACT §8)."""
    jobs = [*worker.standard_jobs(settings.change_sweep_seconds), _hmpps_retries(hub, settings)]
    return worker.Worker(db, how, jobs, settings.worker_poll_seconds)


def _hmpps_retries(hub: intake.Hmpps, settings: Settings) -> worker.Job:
    async def retry(_: Database) -> int:
        return await retries.retry_due(hub)

    return worker.Job(
        "retry pending HMPPS domain events", min(5.0, settings.hmpps_retry_seconds), retry
    )


async def _stop(task: asyncio.Task[None] | None, stop: asyncio.Event | None) -> None:
    if task is None or stop is None:
        return
    stop.set()
    with suppress(asyncio.CancelledError):
        await task


def _build_the_routes(app: FastAPI) -> None:
    """Build every route's request handling now, before the process serves a request.

    FastAPI builds a router's routes (their parameter models and dependency graphs) when a
    request first reaches that router, most of a worker's first answer (app/tuning). Objects made
    now are also among those the garbage collector is told to leave alone
    (`tuning.tune_the_garbage_collector`). Looking up a name that no route has builds every
    router on the way.
    """
    with suppress(NoMatchFound):
        app.url_path_for("joinup: build every route")


class SchemaGate:
    """Refuses to start on a database whose schema is not this code's (never migrated, or by
    an older joinup): the server stops with one line saying what to do, not a traceback."""

    def __init__(self, app: ASGIApp, database_url: str) -> None:
        self.app = app
        self.database_url = database_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            problem = await anyio.to_thread.run_sync(db_schema.unready, self.database_url)
            if problem is not None:
                await receive()  # lifespan.startup
                await send({"type": "lifespan.startup.failed", "message": f"joinup: {problem}"})
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    clock.set_offset_days(settings.clock_offset_days)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, settings.pool_size, 2 * settings.batch_concurrency)
        await _bootstrap(db, settings)
        await db.open()
        limiter = RateLimiter(settings.rate_limit_per_minute)
        rules = settings.rules()
        posts = GroupCommit(db, rules, settings.group_commit)
        trail = audit_store.Trail(db, settings.group_commit)
        turns = asyncio.Semaphore(settings.batch_concurrency)
        how = delivering(settings)
        hub = intake.Hmpps(db, rules, settings)
        app.state.runtime = Runtime(
            settings, db, rules, posts, trail, turns, limiter, secrets=how.box, hmpps=hub
        )
        _build_the_routes(app)
        tuning.tune_the_garbage_collector()
        upkeep = _keep_statistics_up(db, settings)
        lag = asyncio.create_task(app.state.metrics.watch_the_loop())
        work, stop = (None, None)
        if settings.inline_worker:
            work, stop = worker.start(worker_of(db, settings, how, hub))
        yield
        await _stop(work, stop)
        lag.cancel()
        with suppress(asyncio.CancelledError):
            await lag
        if upkeep is not None:
            upkeep.cancel()
            with suppress(asyncio.CancelledError):
                await upkeep
        await hub.close()
        await posts.drain()
        await trail.drain()
        await db.dispose()

    # Swagger UI's and ReDoc's scripts and styles come with the fastapi-offline package and are
    # served by joinup itself: the docs work on a network without the internet (CONTRACT §9).
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="joinup",
        version="1.0.0",
        description=_described(),
        lifespan=lifespan,
    )
    problems.install(app)
    routers = (
        health,
        keys,
        events,
        batches,
        people,
        releases,
        audit,
        monitoring,
        hmpps,
        subscriptions,
        changes,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(problem_pages.router)
    web.install(app, settings)
    app.add_middleware(
        RequestGate,
        max_bytes=settings.max_body_bytes,
        max_open_bytes=settings.max_open_body_bytes,
        body_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(SchemaGate, database_url=settings.database_url)
    observability.configure_logging()
    observability.install(app, Metrics())
    _document_event_bodies(app)
    return app


def _document_event_bodies(app: FastAPI) -> None:
    """Add the event schemas that the raw-body routes reference to the OpenAPI document."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = original()
        ref = "#/components/schemas/{model}"
        event_schema = TypeAdapter(EventCreate).json_schema(ref_template=ref)
        batch_schema = BatchResult.model_json_schema(ref_template=ref)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in (event_schema.pop("$defs", {}) | batch_schema.pop("$defs", {})).items():
            schemas.setdefault(name, schema)
        schemas["EventCreate"] = event_schema
        for model in body.DOCUMENTED:
            model_schema = model.model_json_schema(ref_template=ref)
            schemas.update(model_schema.pop("$defs", {}))
            schemas[model.__name__] = model_schema
        schemas.setdefault("BatchResult", batch_schema)
        schemas["BatchCreate"] = {
            "type": "object",
            "required": ["events"],
            "additionalProperties": False,
            "properties": {
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/EventCreate"}},
                "atomic": {"type": "boolean", "default": False},
            },
        }
        document_problems(spec)
        teaching.teach(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
