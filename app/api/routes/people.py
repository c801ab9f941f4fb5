"""Probation's handover view and a person's timeline (CONTRACT §5)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import Admin, AuditedConn, Reader, RuntimeDep, as_of_or_today
from app.api.responses import JSON, problems
from app.schemas.api import PersonView, SubjectExport, Timeline
from app.schemas.fields import Day
from app.services import people, subject_access

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
_AUDITED = (
    " Every answer, and every refusal as not found, is recorded in the audit trail "
    "(`GET /v1/audit`) with the identifier's scheme, never its value."
)
_EXPORT = (
    "For a subject access request: every stored event of the person (counting or not, with "
    "`superseded_by`, `retracted`, `org` and `received_at`), their join-up records as of today, "
    "every identifier that names them, and every audit row about them (reads of them, gap-list "
    "pages that showed them, posts about them), newest first. The export is itself recorded "
    "(`EXPORT_SUBJECT`), after it is read, so it is not in its own `audit` list. A scoped key "
    "sees the person as with the timeline, and then all of it. "
)


# Declared before the handover route: a PNC value contains a slash, so the handover route's
# path parameter would otherwise swallow "/timeline" and "/export".
@router.get(
    "/{scheme}/{value:path}/timeline",
    response_model=Timeline,
    responses=problems("not-found"),
    summary="Every counting event of a person, oldest first",
    description=_SCHEME_DOC + _TIMELINE_SCOPE + _AUDITED,
)
async def get_timeline(
    scheme: str, value: str, caller: Reader, conn: AuditedConn, as_of: Day | None = None
) -> JSON:
    return JSON(await people.timeline(conn, caller, scheme, value, as_of))


@router.get(
    "/{scheme}/{value:path}/export",
    response_model=SubjectExport,
    responses=problems("not-found"),
    summary="Subject access export: everything held about a person, as one document",
    description=_EXPORT + _SCHEME_DOC,
)
async def export_person(
    scheme: str, value: str, caller: Admin, conn: AuditedConn, rt: RuntimeDep
) -> JSON:
    return JSON(await subject_access.export(conn, caller, scheme, value, rt.rules))


@router.get(
    "/{scheme}/{value:path}",
    response_model=PersonView,
    responses=problems("not-found", "validation-error"),
    summary="Handover view: every release's join-up record, newest first",
    description=_SCHEME_DOC + _HANDOVER_SCOPE + _AUDITED,
)
async def get_person(
    scheme: str,
    value: str,
    caller: Reader,
    conn: AuditedConn,
    rt: RuntimeDep,
    as_of: Day | None = None,
) -> JSON:
    view = await people.handover(conn, caller, scheme, value, as_of_or_today(as_of), rt.rules)
    return JSON(view)
