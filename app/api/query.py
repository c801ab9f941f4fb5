"""Query parameters a route does not declare are refused (CONTRACT §5, 2026-12-07).

A misspelt filter (`flags=` for `flag=`, `prison=` on the metrics) would otherwise be ignored,
and the caller would take an unfiltered answer for a filtered one. The parameters a route
takes are read from its own declaration, so there is no list to keep in step with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute

from app.services.errors import ErrorItem, Invalid

# By route id, with the route itself: a process that builds many apps (the tests) may see an
# id again after a route is gone, and must never read another route's names.
_declared: dict[int, tuple[APIRoute, tuple[str, ...]]] = {}


def _query_names(dependant: Any) -> Iterator[str]:
    yield from (param.alias for param in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def declared(route: APIRoute) -> tuple[str, ...]:
    """The query parameters `route` takes, its dependencies' included, in declaration order."""
    cached = _declared.get(id(route))
    if cached is None or cached[0] is not route:
        cached = _declared[id(route)] = (route, tuple(dict.fromkeys(_query_names(route.dependant))))
    return cached[1]


def refuse_unknown(request: Request) -> None:
    """Refuse the request when its query names a parameter its route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = declared(route)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in known]
    if not unknown:
        return
    takes = f"it takes {', '.join(known)}" if known else "it takes no query parameters"
    detail = f"unknown query parameter {', '.join(map(repr, unknown))}: {takes}"
    raise Invalid(detail, errors=[ErrorItem(["query", name], detail) for name in unknown])
