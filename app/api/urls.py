"""Refuse URLs whose path or query holds a control character, before any route sees them.

No identifier, event id, key id, filter, date or cursor has a control character in it, and
PostgreSQL cannot even hold a NUL in a text parameter: a lookup of one would fail as a database
error (a 500) where SQLite would answer "not found". Refusing them here answers both databases
alike, for every route, with a 422 naming the part of the URL at fault. The check runs in
app/api/limits.RequestGate, the one layer that refuses requests before any route sees them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import Scope

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


def refusal(loc: list[str]) -> Response:
    """The 422 validation problem for a URL with a control character at `loc`."""
    error = ErrorItem(loc, "control characters (U+0000 to U+001F, U+007F) are not allowed")
    return problem("validation-error", "the URL holds a control character", errors=[error])
