"""Request-scoped dependencies: the unit of work, the caller, the rules in force."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from app.api import query
from app.api.observability import current_caller_request_id, current_request_id
from app.api.ratelimit import RateLimiter
from app.domain.rules import Rules
from app.services import clock, keys
from app.services.errors import Unauthorized
from app.services.hmpps.intake import Hmpps
from app.services.ingest.group_commit import GroupCommit
from app.services.notifications.secrets import SecretBox
from app.services.principal import Principal
from app.services.storage import Connection, Database, Trail
from app.settings import Settings
from app.tuning.turns import Readers


@dataclass(frozen=True)
class Runtime:
    """What the app builds once at start-up and every request shares."""

    settings: Settings
    db: Database
    rules: Rules
    posts: GroupCommit
    trail: Trail
    batch_turns: asyncio.Semaphore
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    readers: Readers = field(default_factory=Readers)
    # Encrypts webhook secrets (app/services/notifications/secrets.py).
    secrets: SecretBox | None = None
    hmpps: Hmpps | None = None


def runtime_of(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


# Dependencies are coroutines even when they do not await: FastAPI runs a plain function in
# the thread pool, a hop that costs more than the function.
async def runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def _read(request: Request) -> AsyncIterator[Connection]:
    rt = runtime_of(request)
    with rt.readers.serving():
        async with rt.db.read() as conn:
            yield conn


async def _write(request: Request) -> AsyncIterator[Connection]:
    async with runtime_of(request).db.write() as conn:
        yield conn


async def _batch_write(request: Request) -> AsyncIterator[Connection]:
    async with runtime_of(request).db.batch() as conn:
        yield conn


async def _audited(request: Request) -> AsyncIterator[Connection]:
    # A read that stores its audit rows, a refused lookup's too (see app/db/audit.py's Trail).
    rt = runtime_of(request)
    with rt.readers.serving():
        async with rt.trail.reading() as conn:
            yield conn


DRY_RUN_HELP = (
    "`true`: validate the events and resolve their identifiers to the people they name, as a "
    "post would, and answer as it would (200 in place of 201), storing nothing"
)
DryRun = Annotated[bool, Query(description=DRY_RUN_HELP)]


async def _rehearsal(request: Request, dry_run: DryRun = False) -> AsyncIterator[Connection | None]:
    # A dry run reads what a post would be decided against and stores only its audit row; a
    # real post goes to the organisation's shared write transaction (app/services/group_commit.py).
    if not dry_run:
        yield None
        return
    with runtime_of(request).readers.serving():
        async with runtime_of(request).trail.reading() as conn:
            yield conn


async def _batch_turn(request: Request) -> AsyncIterator[None]:
    # A process works on JOINUP_BATCH_CONCURRENCY batch posts at a time; the others wait, in
    # order, with their bodies received (app/api/limits.py reads a body whole before any route
    # runs, so a client that sends one slowly holds no turn) but not yet parsed. Two batches in
    # one worker only interleave their CPU turns: each takes longer, and so does every read the
    # worker serves meanwhile.
    async with runtime_of(request).batch_turns:
        yield


# The request is the unit of work: one transaction, committed before the response is sent.
ReadConn = Annotated[Connection, Depends(_read, scope="function")]
WriteConn = Annotated[Connection, Depends(_write, scope="function")]
BatchConn = Annotated[Connection, Depends(_batch_write, scope="function")]
AuditedConn = Annotated[Connection, Depends(_audited, scope="function")]
BatchTurn = Annotated[None, Depends(_batch_turn, scope="function")]
# The connection of a dry run (`?dry_run=true`), None for a real post.
Rehearsal = Annotated[Connection | None, Depends(_rehearsal, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_basic = HTTPBasic(
    auto_error=False,
    description="The API key as the password of HTTP Basic authentication (any user name), as "
    "SNS sends credentials written into a subscription's URL",
)
BasicCredentials = Annotated[HTTPBasicCredentials | None, Depends(_basic)]


def require(*roles: str, limited: bool = True) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency giving the caller, refused unless its key has one of `roles`; `limited`
    False leaves the key's rate limit alone (a monitoring system's scrapes).

    The key is looked up on every request, in a transaction of its own: a key revoked or
    changed through any process applies to the next request here (app/services/keys.py).
    """

    async def caller(request: Request, credentials: Credentials) -> Principal:
        secret = credentials.credentials if credentials else None
        return await _caller(request, secret, roles, limited)

    return caller


def require_bearer_or_basic(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """`require`, also taking the key as the password of HTTP Basic authentication."""

    async def caller(request: Request, bearer: Credentials, basic: BasicCredentials) -> Principal:
        secret = bearer.credentials if bearer else basic.password if basic else None
        try:
            return await _caller(request, secret, roles)
        except Unauthorized as refused:
            # SNS sends a subscription URL's credentials only when challenged for Basic.
            challenge = {"WWW-Authenticate": 'Basic realm="joinup"'}
            raise HTTPException(401, refused.detail, headers=challenge) from None

    return caller


async def _caller(
    request: Request, secret: str | None, roles: tuple[str, ...], limited: bool = True
) -> Principal:
    rt = runtime_of(request)
    request_id = current_request_id.get()
    # A /v1 request with a body had its key checked before the body was read (app/api/keyfirst.py).
    principal = getattr(request.state, "principal_from_headers", None)
    if principal is None:
        async with rt.db.read() as conn:
            principal = await keys.authenticate(conn, secret, request_id)
    principal = replace(principal, caller_request_id=current_caller_request_id.get())
    # For the access log: the caller's organisation, never its key.
    request.state.org = principal.org
    if limited:
        _within_rate_limit(rt, principal)
    principal.require(*roles)
    # Every /v1 route names its caller: checked here, a misspelt filter is refused for every
    # route, and only once the caller is known (a caller without a key learns nothing).
    query.refuse_unknown(request)
    return principal


# A refused identity conflict is an attempt to learn about the people it names (CONTRACT §3.1):
# it costs the key as many tokens as this many requests, one by one or in a batch alike, so that
# a key probes at most JOINUP_RATE_LIMIT_PER_MINUTE / 60 identities a minute.
IDENTITY_CONFLICT_COST = 60


def charge_identity_conflicts(rt: Runtime, principal: Principal, conflicts: int) -> None:
    """Count the identity conflicts a post was refused for against its key's rate limit."""
    rt.limiter.charge(principal.key_id, conflicts * IDENTITY_CONFLICT_COST)


def _within_rate_limit(rt: Runtime, principal: Principal) -> None:
    wait = rt.limiter.take(principal.key_id)
    if wait:
        detail = f"this key has made too many requests; try again in {wait} s"
        raise HTTPException(429, detail, headers={"Retry-After": str(wait)})


Submitter = Annotated[Principal, Depends(require("submitter"))]
# SNS sends the credentials of a subscription URL as HTTP Basic authentication (CONTRACT §8).
BasicSubmitter = Annotated[Principal, Depends(require_bearer_or_basic("submitter"))]
Reader = Annotated[Principal, Depends(require("probation", "coordinator"))]
Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
# /metrics names organisations: admins only, and a scrape every few seconds is not a flood.
MetricsReader = Annotated[Principal, Depends(require("admin", limited=False))]
# Subscriptions are made by readers, and managed by their organisation's readers and by admins.
Subscriber = Annotated[Principal, Depends(require("probation", "coordinator"))]
SubscriptionManager = Annotated[Principal, Depends(require("probation", "coordinator", "admin"))]


def as_of_or_today(as_of: date | None) -> date:
    return as_of if as_of is not None else clock.today()
