"""Request-scoped dependencies: the unit of work, the caller, the rules in force."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import Database
from app.domain.rules import Rules
from app.services import clock, keys
from app.services.keys import Principal
from app.settings import Settings


@dataclass(frozen=True)
class Runtime:
    """What the app builds once at start-up and every request shares."""

    settings: Settings
    db: Database
    rules: Rules


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def _read(request: Request) -> AsyncIterator[AsyncConnection]:
    async with runtime(request).db.read() as conn:
        yield conn


async def _write(request: Request) -> AsyncIterator[AsyncConnection]:
    async with runtime(request).db.write() as conn:
        yield conn


# The request is the unit of work: one transaction, committed before the response is sent.
ReadConn = Annotated[AsyncConnection, Depends(_read, scope="function")]
WriteConn = Annotated[AsyncConnection, Depends(_write, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency giving the caller, refused unless its key has one of `roles`."""

    async def caller(request: Request, credentials: Credentials) -> Principal:
        secret = credentials.credentials if credentials else None
        async with runtime(request).db.read() as conn:
            principal = await keys.authenticate(conn, secret)
        # For the access log: the caller's organisation, never its key.
        request.state.org = principal.org
        principal.require(*roles)
        return principal

    return caller


Submitter = Annotated[Principal, Depends(require("submitter"))]
Reader = Annotated[Principal, Depends(require("probation", "coordinator"))]
Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def as_of_or_today(as_of: date | None) -> date:
    return as_of if as_of is not None else clock.today()
