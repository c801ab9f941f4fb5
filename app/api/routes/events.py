"""Posting, reading back and retracting events (CONTRACT §3.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from app.api.body import documented_body, documented_schema, json_body, model_body
from app.api.deps import (
    AuditedConn,
    Rehearsal,
    RuntimeDep,
    Submitter,
    WriteConn,
    charge_identity_conflicts,
)
from app.api.problems import from_service_error
from app.api.prometheus import MetricsDep
from app.api.responses import JSON, problems
from app.schemas.api import (
    EventAccepted,
    EventPage,
    EventRead,
    EventType,
    Retraction,
)
from app.services import clock, ingest
from app.services import events as event_service
from app.services.ingest import submissions

router = APIRouter(prefix="/v1/events", tags=["events"])

_EVENT_BODY = documented_schema("EventCreate")


# The body is parsed and validated by a dependency declared before the write transaction's, so
# that this (CPU-bound) work is done before a connection, and on SQLite the write lock, is held.
async def _one_event(request: Request, caller: Submitter) -> submissions.Submission:
    return submissions.parse(await json_body(request), 0, clock.today())


RetractionBody = Annotated[Retraction, Depends(model_body(Retraction))]
OneEvent = Annotated[submissions.Submission, Depends(_one_event)]


@router.post(
    "",
    status_code=201,
    response_model=EventAccepted,
    openapi_extra=_EVENT_BODY,
    responses={
        200: {
            "model": EventAccepted,
            "description": "The same event again: a duplicate; or, with `dry_run=true`, what a "
            "post would answer, with nothing stored",
        },
        **problems(
            "validation-error",
            "malformed-json",
            "unsupported-media-type",
            "payload-too-large",
            "identity-conflict",
            "event-id-conflict",
            "already-corrected",
            "correction-type-mismatch",
            "person-history-full",
        ),
    },
    summary="Post one event",
    description="Each 409 is listed below with what it means. person-history-full: the person "
    "already has `JOINUP_MAX_EVENTS_PER_PERSON` counting events (20,000 by default); nothing is "
    "stored (a correction, which replaces an event, is still taken). identity-conflict: the "
    "event's "
    "identifiers name two people, or "
    "would give the person they name a second value of a scheme (docs/identity.md); nothing is "
    "stored, the audit line names the people involved, and the refusal costs the key as much of "
    "its rate limit as 60 requests. Posts of one organisation that arrive at the same time may "
    "share a database transaction; each is decided as if posted alone, in arrival order, and "
    "answered only once it is committed (`JOINUP_GROUP_COMMIT`).",
)
async def post_event(
    caller: Submitter, item: OneEvent, rehearsal: Rehearsal, rt: RuntimeDep, metrics: MetricsDep
) -> Response:
    if rehearsal is not None:
        outcome = await ingest.rehearse(rehearsal, caller, [item], atomic=False, rules=rt.rules)
    else:
        with metrics.timed("event"):
            # In a transaction shared with the organisation's other posts that arrive meanwhile.
            outcome = await rt.posts.post(caller, item)
        metrics.count_events(caller.org, [item], outcome)
    charge_identity_conflicts(rt, caller, outcome.identity_conflicts())
    result = outcome.results[0]
    if result.problem is not None:
        # Answered, not raised: the transaction has committed the refusal's audit line.
        return from_service_error(result.problem)
    body = {"event_id": result.event_id, "status": result.status, "person_id": result.person_id}
    if rehearsal is not None:
        return JSON({**body, "dry_run": True})
    return JSON(body, 201 if result.status == ingest.ACCEPTED else 200)


@router.get(
    "",
    response_model=EventPage,
    responses=problems("validation-error", "cursor-mismatch"),
    summary="List the events your organisation posted, to reconcile with your own records",
    description="Every event the caller's organisation posted, counting or not (superseded and "
    "retracted ones say so), in the order joinup received them, and never another "
    "organisation's. Page with `cursor`: it carries the `since` and `type` of the first page, "
    "and is refused with others (422 `cursor-mismatch`). Each page is recorded in the audit trail "
    "(`READ_EVENTS`: the filters, the number of events and the people they name).",
)
async def list_events(
    caller: Submitter,
    conn: AuditedConn,
    since: Annotated[
        datetime | None,
        Query(
            description="Only events received at or after this time (ISO 8601, such as "
            "`2026-03-02T00:00:00Z`; without an offset, UTC)"
        ),
    ] = None,
    type: Annotated[
        EventType | None, Query(description="Only events of this type (CONTRACT §3.2)")
    ] = None,
    cursor: Annotated[
        str | None, Query(description="`next_cursor` of the page before, to go on from it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Events on a page, 1 to 500")] = 100,
) -> JSON:
    return JSON(await event_service.posted(conn, caller, since, type, cursor, limit))


@router.get(
    "/{event_id}",
    response_model=EventRead,
    responses=problems("not-found"),
    summary="Read back an event your organisation posted",
    description="Recorded in the audit trail (`READ_EVENT`) against the event's person, as any "
    "read of a person's data is; a read of an event that does not exist is recorded too.",
)
async def get_event(event_id: str, caller: Submitter, conn: AuditedConn) -> JSON:
    return JSON(await event_service.read(conn, caller, event_id))


@router.post(
    "/{event_id}/retraction",
    response_model=EventRead,
    responses=problems(
        "not-found",
        "validation-error",
        "malformed-json",
        "unsupported-media-type",
        "event-superseded",
    ),
    openapi_extra=documented_body(Retraction),
    summary="Retract an event: it, and all it corrected, stop counting",
    description="An identifier that no counting event of its person carries any longer is "
    "released (it names nobody until an event carries it again), and a person whose counting "
    "events no longer share an identifier is split in two (docs/identity.md).",
)
async def retract_event(
    event_id: str,
    caller: Submitter,
    retraction: RetractionBody,
    conn: WriteConn,
    rt: RuntimeDep,
    metrics: MetricsDep,
) -> JSON:
    with metrics.timed("retraction"):
        row = await event_service.retract(conn, caller, event_id, retraction.reason, rt.rules)
    return JSON(row)
