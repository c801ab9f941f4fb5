"""The change feed (CONTRACT §7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AuditedConn, Reader
from app.api.responses import JSON, problems
from app.schemas.notifications import ChangePage, ChangeType
from app.services.notifications import feed

router = APIRouter(prefix="/v1", tags=["notifications"])


@router.get(
    "/changes",
    response_model=ChangePage,
    responses=problems("validation-error"),
    summary="Changes to release records, oldest first, for systems that poll",
    description="The changes webhooks carry, after the change id `after` (from the start when "
    "left out): pass the answer's `next_after` as the next `after`. A scoped key sees only "
    "changes of releases in its scope. Each page is recorded in the audit trail "
    "(`READ_CHANGES`, with the people it names).",
)
async def list_changes(
    caller: Reader,
    conn: AuditedConn,
    after: Annotated[str, Query(pattern=r"^[0-9]{1,18}$")] = "0",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    types: Annotated[list[ChangeType] | None, Query()] = None,
) -> JSON:
    return JSON(await feed.page(conn, caller, int(after), limit, types))
