"""The change feed (CONTRACT §7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.api.deps import AuditedConn, Reader
from app.api.responses import JSON, problems
from app.schemas.notifications import ChangePage, ChangeType
from app.services.errors import ErrorItem, Invalid
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
    request: Request,
    caller: Reader,
    conn: AuditedConn,
    after: Annotated[str, Query(pattern=r"^[0-9]{1,18}$")] = "0",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    types: Annotated[list[ChangeType] | None, Query()] = None,
) -> JSON:
    _only_known(request)
    return JSON(await feed.page(conn, caller, int(after), limit, types))


_KNOWN = ("after", "limit", "types")


def _only_known(request: Request) -> None:
    """A misspelt parameter (`type=` for `types=`) must not return every change (CONTRACT §5)."""
    unknown = sorted(set(request.query_params) - set(_KNOWN))
    if unknown:
        detail = f"unknown query parameter {unknown[0]!r}; known: {', '.join(_KNOWN)}"
        raise Invalid(detail, errors=[ErrorItem(["query", unknown[0]], detail)])
