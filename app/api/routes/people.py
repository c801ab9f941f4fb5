"""Probation's handover view and a person's timeline (CONTRACT §5)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter

from app.api.deps import ReadConn, Reader, RuntimeDep, as_of_or_today
from app.api.responses import JSON, problems
from app.api.schemas import PersonView, Timeline
from app.services import people

router = APIRouter(prefix="/v1/people", tags=["people"])

_SCHEME_DOC = "nomis, crn, nhs or pnc. A PNC keeps its slash: /v1/people/pnc/2012/0052834K."
_TIMELINE_SCOPE = (
    " A scoped key sees a person only when at least one of the person's releases, on any date, "
    "is in its scope (otherwise 404, as for an unknown person); it then sees the whole timeline, "
    "every counting event of the person, like an unscoped key."
)
_HANDOVER_SCOPE = (
    " A scoped key sees a person only when at least one of the person's releases as of `as_of` "
    "is in its scope (otherwise 404, as for an unknown person), and sees only those releases."
)


# Declared before the handover route: a PNC value contains a slash, so the handover route's
# path parameter would otherwise swallow "/timeline".
@router.get(
    "/{scheme}/{value:path}/timeline",
    response_model=Timeline,
    responses=problems("not-found"),
    summary="Every counting event of a person, oldest first",
    description=_SCHEME_DOC + _TIMELINE_SCOPE,
)
async def get_timeline(
    scheme: str, value: str, caller: Reader, conn: ReadConn, as_of: date | None = None
) -> JSON:
    return JSON(await people.timeline(conn, scheme, value, as_of, caller.scope))


@router.get(
    "/{scheme}/{value:path}",
    response_model=PersonView,
    responses=problems("not-found", "validation-error"),
    summary="Handover view: every release's join-up record, newest first",
    description=_SCHEME_DOC + _HANDOVER_SCOPE,
)
async def get_person(
    scheme: str,
    value: str,
    caller: Reader,
    conn: ReadConn,
    rt: RuntimeDep,
    as_of: date | None = None,
) -> JSON:
    view = await people.handover(conn, scheme, value, as_of_or_today(as_of), rt.rules, caller.scope)
    return JSON(view)
