"""Coordinators' gap lists and continuity metrics (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from app.api.deps import AuditedConn, Coordinator, RuntimeDep, as_of_or_today
from app.api.responses import JSON, problems
from app.schemas.api import FlagCode, Metrics, ReleasePage, Stage
from app.schemas.fields import Day
from app.services import metrics, releases, spreadsheet

router = APIRouter(prefix="/v1", tags=["coordinators"])

GroupBy = Literal["prison", "probation_region", "local_authority", "month"]
CsvFormat = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`csv` answers CSV for a spreadsheet, as `Accept: text/csv` does"),
]
_METRICS_CSV_EXAMPLE = (
    "prison,released_in_treatment,excluded,awaiting_pickup,pickup_due,picked_up,pickup_rate,"
    "retention_due,retained_12w,retention_rate,on_ost,no_ost,opiate,no_naloxone,supervised,"
    "no_licence_condition,no_referral,as_of,released_from,released_to\r\n"
    "MDI,40,2,3,35,14,0.4,10,6,0.6,20,4,25,5,30,8,12,2026-06-30,2026-01-01,2026-03-31\r\n"
)

_RELEASES_CSV_EXAMPLE = spreadsheet.line(spreadsheet.RELEASE_COLUMNS)


def _wants_csv(request: Request, format: str | None) -> bool:
    return format == "csv" or "text/csv" in request.headers.get("accept", "")


def _csv(body: Iterable[str] | AsyncIterable[str], filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/releases",
    response_model=ReleasePage,
    responses={
        200: {
            "content": {"text/csv": {"example": _RELEASES_CSV_EXAMPLE}},
            "description": "A JSON page, or the whole list as CSV for a spreadsheet: a header "
            "row of the column names, then one row per release. Columns: "
            + ", ".join(f"`{name}`" for name in spreadsheet.RELEASE_COLUMNS)
            + ". Each flag has two columns, `<code>_raised_on` and `<code>_resolved_on`, both "
            "empty when it was not raised by `as_of`; booleans are `true`/`false`, dates ISO, "
            "null an empty cell, and a cell beginning with `=`, `+`, `-`, `@`, a tab or a "
            "carriage return is written with a leading `'` so that no spreadsheet runs it.",
        },
        **problems("validation-error", "cursor-mismatch"),
    },
    summary="Gap list: releases as of a date, filtered, newest release first",
    description="Filters combine with AND; `flag` may repeat and every flag named must be "
    "open. Page with `cursor`: it carries the filters and as-of date of the first page, so the "
    "next page needs only the cursor; given with other filters it is refused "
    "(422 `cursor-mismatch`). Place filters are normalised as events are: `prison` a 3-letter "
    "code, `local_authority` an ONS code, `probation_region` one of the twelve regions in any "
    "case or spacing; anything else is 422. A query parameter the list does not take is 422. With "
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
    released_from: Day | None = None,
    released_to: Day | None = None,
    as_of: Day | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    format: CsvFormat = None,
) -> Response:
    where, after = releases.query(
        as_of,
        cursor,
        caller.scope,
        stage=stage,
        flags=flag,
        prison=prison,
        probation_region=probation_region,
        local_authority=local_authority,
        community_provider=community_provider,
        released_from=released_from,
        released_to=released_to,
    )
    if _wants_csv(request, format):
        body = releases.export_csv(rt.db, caller, where, rt.rules)
        return _csv(body, f"releases-{where.as_of}.csv")
    items, next_cursor = await releases.page(conn, caller, where, after, limit, rt.rules)
    return JSON({"items": items, "next_cursor": next_cursor})


@router.get(
    "/metrics/continuity",
    response_model=Metrics,
    responses={
        200: {
            "content": {"text/csv": {"example": _METRICS_CSV_EXAMPLE}},
            "description": "The metrics as JSON, or as CSV: one row per group",
        },
        **problems("validation-error"),
    },
    summary="Continuity metrics for releases dated in a range, as of a date",
    description="A scoped key's counts cover only the releases in its scope. With "
    "`Accept: text/csv` or `format=csv` the answer is CSV for a spreadsheet: one row per group "
    "(its first column named after `group_by`), or one row of the totals when there is no "
    "`group_by`, then the counts, then `as_of`, `released_from` and `released_to`; rates are "
    "fractions (0.345), an undefined rate an empty cell. Each answer is recorded in the audit "
    "trail (`READ_METRICS`, with the query; no person is named).",
)
async def continuity(
    request: Request,
    caller: Coordinator,
    conn: AuditedConn,
    released_from: Day | None = None,
    released_to: Day | None = None,
    as_of: Day | None = None,
    group_by: GroupBy | None = None,
    format: CsvFormat = None,
) -> Response:
    answer = await metrics.read(
        conn, caller, as_of_or_today(as_of), released_from, released_to, group_by
    )
    if _wants_csv(request, format):
        name = f"continuity-{answer['as_of']}.csv"
        return _csv(spreadsheet.metrics_lines(answer), name)
    return JSON(answer)
