"""Refuse URLs whose path or query holds a control character, before any route sees them.

No identifier, event id, key id, filter, date or cursor has a control character in it, and
PostgreSQL cannot even hold a NUL in a text parameter: a lookup of one would fail as a database
error (a 500) where SQLite would answer "not found". Refusing them here answers both databases
alike, for every route, with a 422 naming the part of the URL at fault.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import problem
from app.services.errors import ErrorItem

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A control character in a query string, raw or percent-encoded: the cheap test done first.
_CONTROL_IN_QUERY = re.compile(rb"[\x00-\x1f\x7f]|%[01][0-9A-Fa-f]|%7[Ff]")


def offending(scope: Scope) -> list[str] | None:
    """The `loc` of the first part of the URL with a control character in it, else None."""
    if _CONTROL.search(scope["path"]):
        return ["path"]
    raw = scope.get("query_string", b"")
    if not _CONTROL_IN_QUERY.search(raw):
        return None
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            return ["query", _CONTROL.sub("?", name)]
    return None


class ControlCharacters:
    """ASGI middleware: a URL with a control character gets a 422 validation problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loc = offending(scope) if scope["type"] == "http" else None
        if loc is None:
            await self.app(scope, receive, send)
            return
        error = ErrorItem(loc, "control characters (U+0000 to U+001F, U+007F) are not allowed")
        detail = "the URL holds a control character"
        await problem("validation-error", detail, errors=[error])(scope, receive, send)
