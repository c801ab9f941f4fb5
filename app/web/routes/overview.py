"""The coordinators' overview: the funnel for a period, its charts, and a table by group that
leads to the matching gap lists (CONTRACT §9)."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any, Literal
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.deps import AuditedConn, as_of_or_today
from app.services import metrics
from app.web import charts, words
from app.web.pages import PageRoute, render
from app.web.signing import Coordinator

router = APIRouter(route_class=PageRoute, include_in_schema=False)

GroupBy = Literal["probation_region", "prison", "local_authority", "month"]


def funnel_steps(total: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        ("Released in treatment", total["released_in_treatment"]),
        ("Picked up within the window", total["picked_up"]),
        ("Retained at 12 weeks", total["retained_12w"]),
    ]


def gap_list_link(group_by: str, group: str | None, query: dict[str, date | None]) -> str | None:
    """The gap list of one group's releases in the period, or None (releases without a value
    for the group cannot be asked for)."""
    if group is None:
        return None
    filters: dict[str, Any] = {k: v for k, v in query.items() if v is not None}
    if group_by == "month":
        year, month = (int(part) for part in group.split("-"))
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        start = max(first, filters.get("released_from") or first)
        end = min(last, filters.get("released_to") or last)
        filters.update(released_from=start, released_to=end)
    else:
        filters[group_by] = group
    return "/releases?" + urlencode({k: str(v) for k, v in filters.items()})


@router.get("/overview")
async def overview(
    request: Request,
    session: Coordinator,
    conn: AuditedConn,
    released_from: date | None = None,
    released_to: date | None = None,
    as_of: date | None = None,
    group_by: GroupBy = "probation_region",
) -> Response:
    who, day = session.principal, as_of_or_today(as_of)
    answer = await metrics.read_overview(conn, who, day, released_from, released_to, group_by)
    total = answer["total"]
    funnel_svg = await anyio.to_thread.run_sync(charts.funnel, funnel_steps(total))
    trend_svg = await anyio.to_thread.run_sync(charts.trend, answer["months"])
    period = {"released_from": released_from, "released_to": released_to, "as_of": as_of}
    rows = [
        {**row, "link": gap_list_link(group_by, row["group"], period)} for row in answer["rows"]
    ]
    context = {
        "title": "Overview",
        "nav": "/overview",
        "query": {**period, "group_by": group_by},
        "as_of": day,
        "total": total,
        "funnel_svg": funnel_svg,
        "trend_svg": trend_svg,
        "months": answer["months"],
        "rows": rows,
        "group_label": words.GROUPS[group_by],
    }
    return render(request, "overview.html", context)
