"""Request ids, one JSON access line per request, the request metrics, and JSON logging.

The middleware is pure ASGI: Starlette's BaseHTTPMiddleware would cost a task and a stream per
request. It wraps the whole app, Starlette's error middleware included, so that a 500 carries its
request id and the security headers (app/api/headers.py) too, and logs the route template, never
the raw path: person identifiers are in paths. It is one layer, and spends as little as it can on
each request: every request pays for it, however little the route does.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.headers import secured
from app.api.prometheus import Metrics

HEADER = b"x-request-id"
UNMATCHED = "unmatched"
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_CONVERTER = re.compile(r"\{(\w+):[^}]*\}")
# Anything else a client invents would become a new metric label value.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# 499, as nginx has it: the client went away before it was answered.
_CLIENT_GONE = 499

access_log = logging.getLogger("joinup.access")
current_request_id: ContextVar[str | None] = ContextVar("joinup_request_id", default=None)
current_caller_request_id: ContextVar[str | None] = ContextVar(
    "joinup_caller_request_id", default=None
)


def caller_request_id_of(scope: Scope) -> str | None:
    """The caller's X-Request-ID when it is a sane token."""
    for name, value in scope["headers"]:
        if name == HEADER and _SANE_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return None


def new_request_id() -> str:
    """The server's own id of a request (32 hex digits): the one the audit trail and the logs
    know it by, whatever the caller sent."""
    return os.urandom(16).hex()


def route_of(scope: Scope) -> str:
    """The template of the route that answered (`/v1/people/{scheme}/{value}`)."""
    path = getattr(scope.get("route"), "path", None)
    return _template(path) if isinstance(path, str) else UNMATCHED


@functools.cache  # one entry per route of the app
def _template(path: str) -> str:
    return _CONVERTER.sub(r"{\1}", path)


class RequestObserver:
    """Gives every request an id of its own (the caller's X-Request-ID is kept apart, never
    taken for it), and its answer the security headers and the id; logs and
    counts the answer."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        caller_id = caller_request_id_of(scope)
        header = (HEADER, request_id.encode("ascii"))
        path = scope["path"]
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = secured(path, message.get("headers", ()), header)
            await send(message)

        # The auth dependency leaves the caller's organisation here (Request.state).
        state = scope.setdefault("state", {})
        token = current_request_id.set(request_id)
        caller_token = current_caller_request_id.set(caller_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._record(scope, state, request_id, status or _CLIENT_GONE, seconds)
            current_caller_request_id.reset(caller_token)
            current_request_id.reset(token)

    def _record(
        self, scope: Scope, state: dict[str, Any], request_id: str, status: int, seconds: float
    ) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        route = route_of(scope)
        self.metrics.observe_request(method, route, status, seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        fields = {
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "org": state.get("org"),
            "caller_request_id": current_caller_request_id.get(),
        }
        # Logger.info would also walk the stack for a caller that no log line shows.
        args = (method, route, status)
        record = access_log.makeRecord(
            access_log.name, logging.INFO, __file__, 0, "%s %s %d", args, None, extra=fields
        )
        access_log.handle(record)


def install(app: FastAPI, metrics: Metrics) -> None:
    """Observe every request of `app`, and secure every answer, outside all of its middleware."""
    app.state.metrics = metrics
    build = app.build_middleware_stack

    def observed() -> ASGIApp:
        return RequestObserver(build(), metrics)

    # Starlette puts its error middleware (which answers 500s) outside every added middleware;
    # wrapping the built stack is the one way to see those answers too.
    app.build_middleware_stack = observed  # type: ignore[method-assign]


# Attributes every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def timestamp(record: logging.LogRecord) -> str:
    """When `record` was made, in UTC to the millisecond: `2026-03-02T10:15:00.123+00:00`."""
    # The date and time are formatted once a second, not once a line.
    return f"{_second(int(record.created))}.{int(record.msecs):03d}+00:00"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the sys.stderr of the moment: test runners swap it between tests."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging() -> None:
    """JSON lines on stderr for joinup's loggers (INFO up) and uvicorn's; once per process."""
    joinup = logging.getLogger("joinup")
    if any(isinstance(handler, _StderrHandler) for handler in joinup.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    joinup.addHandler(handler)
    joinup.setLevel(logging.INFO)
    # No line shows the thread or process a record was made in, and looking them up was half
    # the cost of making each record (the logging HOWTO's "Optimization" names these switches).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # uvicorn configured its own handlers before it called the app factory; reformat them so that
    # the process writes one format. (Its access log is off: this module writes that line.)
    for name in ("uvicorn", "uvicorn.error"):
        for existing in logging.getLogger(name).handlers:
            existing.setFormatter(JsonFormatter())
