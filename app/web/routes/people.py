"""Finding a person, and their handover page: each release's stage and gaps in plain words,
with what to do, and the timeline (CONTRACT §9). The page reads the person exactly as the API's
handover view and timeline do, audited the same."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from app.api.deps import AuditedConn, RuntimeDep, as_of_or_today
from app.services import people
from app.services.errors import Invalid, NotFound
from app.web import words
from app.web.pages import PageRoute, render
from app.web.signing import Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _search_page(
    request: Request, scheme: str | None, value: str | None, error: str | None, status: int
) -> Response:
    context = {
        "title": "Find a person",
        "nav": "/people",
        "scheme": scheme or "nomis",
        "value": value or "",
        "error": error,
    }
    return render(request, "people_search.html", context, status)


@router.get("/people")
async def search(
    request: Request, session: Reader, scheme: str | None = None, value: str | None = None
) -> Response:
    if scheme and value and value.strip():
        target = f"/people/{quote(scheme, safe='')}/{quote(value.strip(), safe='/')}"
        return RedirectResponse(target, status_code=303)
    error = "Enter an identifier" if scheme is not None else None
    return _search_page(request, scheme, value, error, 400 if error else 200)


def release_view(release: dict[str, Any]) -> dict[str, Any]:
    """A release as the page tells it: stage and gaps in words, each with what to do."""
    open_flags = [flag for flag in release["flags"] if flag["open"]]
    steps = [words.FLAG_STEPS[flag["code"]] for flag in open_flags]
    # A late pickup has re-engaged the person: the stage asks nothing more of the reader.
    if release["stage"] in words.STAGE_STEPS and not release["late_pickup_on"]:
        steps.insert(0, words.STAGE_STEPS[release["stage"]])
    return {
        **release,
        "open_flags": open_flags,
        "closed_flags": [flag for flag in release["flags"] if not flag["open"]],
        "days_left": release["pickup_days_left"],
        "steps": list(dict.fromkeys(steps)),
    }


@router.get("/people/{scheme}/{value:path}")
async def person(
    request: Request,
    session: Reader,
    conn: AuditedConn,
    rt: RuntimeDep,
    scheme: str,
    value: str,
    as_of: date | None = None,
) -> Response:
    who, day = session.principal, as_of_or_today(as_of)
    try:
        view = await people.handover(conn, who, scheme, value, day, rt.rules)
        timeline = await people.timeline(conn, who, scheme, value, as_of)
    except NotFound as exc:
        return _search_page(request, scheme, value, exc.detail, 404)
    except Invalid as exc:
        return _search_page(request, scheme, value, exc.detail, 422)
    # The page reads the very JSON the API answers with.
    view, timeline = orjson.loads(orjson.dumps([view, timeline]))
    events = timeline["events"]
    context = {
        "title": "Handover",
        "nav": "/people",
        "as_of": day,
        "identifiers": view["identifiers"],
        "releases": [release_view(release) for release in view["releases"]],
        "events": events,
    }
    return render(request, "person.html", context)
