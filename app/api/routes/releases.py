"""Coordinators' gap lists and continuity metrics (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import date
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from app.api.deps import AuditedConn, Coordinator, RuntimeDep, as_of_or_today
from app.api.responses import JSON, problems
from app.api.schemas import FlagCode, Metrics, ReleasePage, Stage
from app.services import metrics, releases
from app.services.keys import Principal
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
    "sees only the releases in its scope, in pages and CSV alike. Each page is recorded in the "
    "audit trail (`READ_RELEASES`: the filters, the number of rows and the people shown); a CSV "
    "export when its stream ends (`EXPORT_RELEASES_CSV`: the filters and the rows sent).",
)
async def list_releases(
    request: Request,
    caller: Coordinator,
    conn: AuditedConn,
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
        headers = {"Content-Disposition": f'attachment; filename="releases-{where.as_of}.csv"'}
        body = csv_body(rt, caller, where)
        return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)
    items, next_cursor = await releases.page(conn, caller, where, after, limit, rt.rules)
    return JSON({"items": items, "next_cursor": next_cursor})


async def csv_body(
    rt: RuntimeDep, caller: Principal, where: ReleaseFilter
) -> AsyncGenerator[str, None]:
    """The CSV stream, then its audit row, however the stream ended.

    The stream outlives the request's transaction, so it reads in one of its own, and its audit
    row is written in a short write transaction of its own once it ends: holding the write lock
    (on SQLite) for as long as a client takes to read the list would stop every writer.
    """
    sent = releases.Sent()
    try:
        async with (
            rt.db.read() as conn,
            aclosing(releases.stream_csv(conn, where, rt.rules, sent)) as chunks,
        ):
            async for chunk in chunks:
                yield chunk
    finally:
        # Shielded: a client that goes away cancels the stream, not the record of what it got.
        with anyio.CancelScope(shield=True):
            async with rt.db.write() as conn:
                await releases.record_csv(conn, caller, where, sent)


@router.get(
    "/metrics/continuity",
    response_model=Metrics,
    responses=problems("validation-error"),
    summary="Continuity metrics for releases dated in a range, as of a date",
    description="A scoped key's counts cover only the releases in its scope. Each answer is "
    "recorded in the audit trail (`READ_METRICS`, with the query; no person is named).",
)
async def continuity(
    caller: Coordinator,
    conn: AuditedConn,
    released_from: date | None = None,
    released_to: date | None = None,
    as_of: date | None = None,
    group_by: GroupBy | None = None,
) -> JSON:
    answer = await metrics.read(
        conn, caller, as_of_or_today(as_of), released_from, released_to, group_by
    )
    return JSON(answer)
