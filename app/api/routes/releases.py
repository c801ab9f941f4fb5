"""Coordinators' gap lists and continuity metrics (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from app.api.deps import Coordinator, ReadConn, RuntimeDep, as_of_or_today
from app.api.responses import JSON, problems
from app.api.schemas import FlagCode, Metrics, ReleasePage, Stage
from app.services import metrics, releases
from app.services.releases import ReleaseFilter

router = APIRouter(prefix="/v1", tags=["coordinators"])

GroupBy = Literal["prison", "probation_region", "local_authority", "month"]


def _wants_csv(request: Request, format: str | None) -> bool:
    return format == "csv" or "text/csv" in request.headers.get("accept", "")


@router.get(
    "/releases",
    response_model=ReleasePage,
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON page, or the whole list as CSV"},
        **problems("validation-error"),
    },
    summary="Gap list: releases as of a date, filtered, newest release first",
    description="Filters combine with AND; `flag` may repeat and every flag named must be "
    "open. Page with `cursor` (it keeps the as-of date of the first page). With "
    "`Accept: text/csv` or `format=csv` the whole filtered list streams as CSV. A scoped key "
    "sees only the releases in its scope, in pages and CSV alike.",
)
async def list_releases(
    request: Request,
    caller: Coordinator,
    conn: ReadConn,
    rt: RuntimeDep,
    stage: Stage | None = None,
    flag: Annotated[list[FlagCode], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    prison: str | None = None,
    probation_region: str | None = None,
    local_authority: str | None = None,
    community_provider: str | None = None,
    released_from: date | None = None,
    released_to: date | None = None,
    as_of: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    format: Literal["json", "csv"] | None = None,
) -> Response:
    after = None
    if cursor is not None:
        after, cursor_as_of = releases.decode_cursor(cursor)
        as_of = as_of or cursor_as_of
    where = ReleaseFilter(
        as_of=as_of_or_today(as_of),
        stage=stage,
        open_flags=frozenset(flag),
        prison=prison.upper() if prison else None,
        probation_region=probation_region,
        local_authority=local_authority,
        community_provider=community_provider,
        released_from=released_from,
        released_to=released_to,
        scope=caller.scope,
    )
    if _wants_csv(request, format):
        return _csv(rt, where)
    items, next_cursor = await releases.page(conn, where, after, limit, rt.rules)
    return JSON({"items": items, "next_cursor": next_cursor})


def _csv(rt: RuntimeDep, where: ReleaseFilter) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        # The stream outlives the request's transaction, so it reads in one of its own.
        async with rt.db.read() as conn:
            async for chunk in releases.stream_csv(conn, where, rt.rules):
                yield chunk

    headers = {"Content-Disposition": f'attachment; filename="releases-{where.as_of}.csv"'}
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/metrics/continuity",
    response_model=Metrics,
    responses=problems("validation-error"),
    summary="Continuity metrics for releases dated in a range, as of a date",
    description="A scoped key's counts cover only the releases in its scope.",
)
async def continuity(
    caller: Coordinator,
    conn: ReadConn,
    released_from: date | None = None,
    released_to: date | None = None,
    as_of: date | None = None,
    group_by: GroupBy | None = None,
) -> JSON:
    answer = await metrics.continuity(
        conn, as_of_or_today(as_of), released_from, released_to, group_by, caller.scope
    )
    return JSON(answer)
