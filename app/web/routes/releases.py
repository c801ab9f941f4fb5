"""The gap list: the filters of GET /v1/releases, pages by cursor, and the same list as CSV
(CONTRACT §9)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from app.api.deps import AuditedConn, RuntimeDep
from app.domain.filters import ReleaseFilter
from app.domain.vocabulary import FlagCode, Stage
from app.services import people, releases
from app.services.errors import ErrorItem, Invalid
from app.services.sessions import SignedIn
from app.web import words
from app.web.pages import PageRoute, long_date, render
from app.web.people_links import person_link
from app.web.signing import Coordinator

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE: Final = 50
_TEXT_FILTERS: Final = ("prison", "probation_region", "local_authority", "community_provider")
_DATE_FILTERS: Final = ("released_from", "released_to", "as_of")


def _checked(stage: str | None, flags: list[str]) -> None:
    errors = []
    if stage is not None and stage not in list(Stage):
        errors.append(ErrorItem(["query", "stage"], f"one of {', '.join(Stage)}"))
    errors += [
        ErrorItem(["query", "flag"], f"{flag!r} is not one of {', '.join(FlagCode)}")
        for flag in flags
        if flag not in list(FlagCode)
    ]
    if errors:
        raise Invalid("the gap list's filters are not ones it knows", errors=errors)


def _where(
    session: SignedIn, cursor: str | None, stage: str | None, flag: list[str], **given: Any
) -> tuple[ReleaseFilter, Any]:
    _checked(stage, flag)
    as_of = given.pop("as_of")
    return releases.query(as_of, cursor, session.principal.scope, stage=stage, flags=flag, **given)


def row_of(record: dict[str, Any], as_of: date, asked_as_of: bool) -> dict[str, Any]:
    """A gap-list row: the record, with the days since release and left in the window, and a
    link to the person as of the list's date when one was asked for."""
    released_on = date.fromisoformat(record["released_on"])
    return {
        **record,
        "days_since_release": (as_of - released_on).days,
        "days_left": people.pickup_days_left(record, as_of),
        "open_flags": [flag["code"] for flag in record["flags"] if flag["open"]],
        "link": _dated(person_link(record["identifiers"]), as_of if asked_as_of else None),
    }


def _dated(link: str | None, as_of: date | None) -> str | None:
    return f"{link}?as_of={as_of}" if link and as_of else link


_LABELS: Final = {
    "prison": "prison",
    "probation_region": "probation region",
    "local_authority": "local authority",
    "community_provider": "provider",
    "released_from": "released from",
    "released_to": "released to",
}


def filtered(where: ReleaseFilter) -> list[tuple[str, str]]:
    """The filters in force, in words, for the line above the list."""
    given = [(label, getattr(where, name)) for name, label in _LABELS.items()]
    shown = [
        (label, long_date(value) if isinstance(value, date) else str(value))
        for label, value in given
        if value is not None
    ]
    if where.stage:
        shown.insert(0, ("stage", words.STAGES[where.stage]))
    shown += [("open gap", words.FLAGS[code]) for code in sorted(where.open_flags)]
    return shown


def _filters_query(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k != "cursor" and v]


@router.get("/releases")
async def gap_list(
    request: Request,
    session: Coordinator,
    conn: AuditedConn,
    rt: RuntimeDep,
    stage: str | None = None,
    flag: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    prison: str | None = None,
    probation_region: str | None = None,
    local_authority: str | None = None,
    community_provider: str | None = None,
    released_from: date | None = None,
    released_to: date | None = None,
    as_of: date | None = None,
    cursor: str | None = None,
) -> Response:
    where, after = _where(
        session,
        cursor,
        stage,
        flag,
        prison=prison,
        probation_region=probation_region,
        local_authority=local_authority,
        community_provider=community_provider,
        released_from=released_from,
        released_to=released_to,
        as_of=as_of,
    )
    items, next_cursor = await releases.page(
        conn, session.principal, where, after, PAGE_SIZE, rt.rules
    )
    # The page reads the very JSON the API answers with.
    records = orjson.loads(orjson.dumps(items))
    filters = _filters_query(request)
    context = {
        "title": "Gap list",
        "nav": "/releases",
        "rows": [row_of(record, where.as_of, bool(as_of or cursor)) for record in records],
        "as_of": where.as_of,
        "query": {
            "stage": stage,
            "flags": flag,
            **{name: request.query_params.get(name) for name in _TEXT_FILTERS + _DATE_FILTERS},
        },
        "continued": cursor is not None,
        "filtered": filtered(where),
        "first_page": "/releases?" + urlencode(filters),
        "next_page": "/releases?" + urlencode([*filters, ("cursor", next_cursor)])
        if next_cursor
        else None,
        "csv": "/releases.csv?" + urlencode(filters),
    }
    return render(request, "releases.html", context)


@router.get("/releases.csv")
async def gap_list_csv(
    session: Coordinator,
    rt: RuntimeDep,
    stage: str | None = None,
    flag: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    prison: str | None = None,
    probation_region: str | None = None,
    local_authority: str | None = None,
    community_provider: str | None = None,
    released_from: date | None = None,
    released_to: date | None = None,
    as_of: date | None = None,
) -> Response:
    """The whole list as the API's CSV (`GET /v1/releases?format=csv`), for a signed-in
    browser, which sends a cookie rather than a key."""
    where, _ = _where(
        session,
        None,
        stage,
        flag,
        prison=prison,
        probation_region=probation_region,
        local_authority=local_authority,
        community_provider=community_provider,
        released_from=released_from,
        released_to=released_to,
        as_of=as_of,
    )
    headers = {"Content-Disposition": f'attachment; filename="releases-{where.as_of}.csv"'}
    body = releases.export_csv(rt.db, session.principal, where, rt.rules)
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)
