"""Reading the audit trail (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import Admin, AuditedConn
from app.api.responses import JSON, problems
from app.schemas.audit import AuditPage, What
from app.schemas.fields import Day
from app.services import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])

_DAY = "A London calendar day (YYYY-MM-DD, 2000-01-01..2100-12-31), included"
_DESCRIPTION = (
    "Every read of person-level data (handover view, timeline, gap-list pages, CSV exports, "
    "subject access exports), metrics reads, posts and retractions of events, and key changes, "
    "newest first. Append-only: nothing in joinup changes or deletes a row. `person_id` finds "
    "the rows about a person (reads of them, and the gap-list pages, audit reads and posts that "
    "named them); it searches the rows' details, so narrow it by date on a large trail. Page "
    "with `cursor`: it carries the filters, and given with other filters it is 422 "
    "`cursor-mismatch`. Reading the trail is itself recorded (`READ_AUDIT`)."
)


@router.get(
    "",
    response_model=AuditPage,
    responses=problems("validation-error", "cursor-mismatch"),
    summary="The audit trail, filtered, newest first",
    description=_DESCRIPTION,
)
async def read_audit(
    caller: Admin,
    conn: AuditedConn,
    person_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    org: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    from_: Annotated[Day | None, Query(alias="from", description=_DAY)] = None,
    to: Annotated[Day | None, Query(description=_DAY)] = None,
    what: What | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> JSON:
    query = audit.AuditQuery(person_id, org, what, from_, to)
    items, next_cursor = await audit.page(conn, caller, query, cursor, limit)
    return JSON({"items": items, "next_cursor": next_cursor})
