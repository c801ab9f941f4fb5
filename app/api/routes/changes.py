"""The change feed (CONTRACT §7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AuditedConn, Reader
from app.api.responses import JSON, problems
from app.schemas.notifications import ChangeAfter, ChangePage, ChangePageSize, ChangeTypes
from app.services.notifications import feed

router = APIRouter(prefix="/v1", tags=["notifications"])


@router.get(
    "/changes",
    response_model=ChangePage,
    responses=problems("validation-error"),
    summary="Changes to release records, oldest first, for systems that poll",
    description="The changes webhooks carry, after the change id `after` (from the start when "
    "left out or empty): pass the answer's `next_after` as the next `after`. `limit` is 1 to "
    "1000 (100 when left out or empty). `types` may repeat, list several separated by commas, "
    "or both (every type when left out or empty). A scoped key sees only changes of releases "
    "in its scope. Each page is recorded in the audit trail (`READ_CHANGES`, with the people "
    "it names).",
)
async def list_changes(
    caller: Reader,
    conn: AuditedConn,
    after: Annotated[ChangeAfter, Query()] = "0",
    limit: Annotated[ChangePageSize, Query()] = 100,
    types: Annotated[ChangeTypes | None, Query()] = None,
) -> JSON:
    return JSON(await feed.page(conn, caller, int(after), limit, types or None))
