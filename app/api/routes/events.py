"""Posting, reading back and retracting events (CONTRACT §3.3)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from app.api.body import documented_body, json_body, model_body
from app.api.deps import (
    AuditedConn,
    BatchConn,
    BatchTurn,
    DryRun,
    Rehearsal,
    RuntimeDep,
    Submitter,
    WriteConn,
    charge_identity_conflicts,
)
from app.api.problems import MEDIA_TYPE, from_service_error, problem_body, status_of
from app.api.prometheus import MetricsDep
from app.api.responses import JSON, problems
from app.schemas.api import (
    BatchResult,
    EventAccepted,
    EventPage,
    EventRead,
    EventType,
    Retraction,
)
from app.services import clock, ingest
from app.services import events as event_service
from app.services.errors import ErrorItem, Invalid, ServiceError
from app.services.ingest import submissions
from app.tuning import turns

router = APIRouter(prefix="/v1/events", tags=["events"])

_EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventCreate"}}},
    }
}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchCreate"}}},
    }
}


# Bodies are parsed and validated by dependencies declared before the write transaction's, so
# that this (CPU-bound) work is done before a connection, and on SQLite the write lock, is held.
async def _one_event(request: Request, caller: Submitter) -> submissions.Submission:
    return submissions.parse(await json_body(request), 0, clock.today())


async def _batch(
    request: Request, caller: Submitter, rt: RuntimeDep, _turn: BatchTurn
) -> tuple[list[submissions.Submission], bool]:
    raw, atomic = _batch_items(await json_body(request), rt.settings.max_batch)
    with turns.yielding_to(rt.readers):
        return await submissions.parse_all(raw, clock.today()), atomic


RetractionBody = Annotated[Retraction, Depends(model_body(Retraction))]
OneEvent = Annotated[submissions.Submission, Depends(_one_event)]
Batch = Annotated[tuple[list[submissions.Submission], bool], Depends(_batch)]


def _item_json(result: ingest.ItemResult) -> dict[str, Any]:
    item: dict[str, Any] = {
        "index": result.index,
        "event_id": result.event_id,
        "status": result.status,
    }
    if result.person_id is not None:
        item["person_id"] = result.person_id
    if result.problem is not None:
        p = result.problem
        item["problem"] = problem_body(p.slug, p.title, status_of(p), p.detail, p.errors)
    return item


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


def _batch_items(body: Any, max_batch: int) -> tuple[list[Any], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise Invalid(
            'the body is {"events": [...], "atomic": false}',
            errors=[ErrorItem(["body", "events"], "a list of events is required")],
        )
    unknown = set(body) - {"events", "atomic"}
    atomic = body.get("atomic", False)
    if unknown or not isinstance(atomic, bool):
        raise Invalid(
            'the body is {"events": [...], "atomic": false}',
            errors=[ErrorItem(["body", *(sorted(unknown) or ["atomic"])], "not allowed here")],
        )
    if len(body["events"]) > max_batch:
        raise ServiceError(
            f"a batch holds at most {max_batch} events; this one has {len(body['events'])}",
            slug="payload-too-large",
            title="Payload too large",
        )
    return body["events"], atomic


@router.post(
    "/batch",
    response_model=BatchResult,
    openapi_extra=_BATCH_BODY,
    responses={
        422: {
            "description": "[`validation-error`](/problems/validation-error): the body is not a "
            "batch; or [`batch-rejected`](/problems/batch-rejected): an atomic batch with a "
            "refused event, nothing stored, and the problem carries the per-item results.",
            "content": {
                MEDIA_TYPE: {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/BatchResult"},
                            {"$ref": "#/components/schemas/Problem"},
                        ]
                    }
                }
            },
        },
        **problems("malformed-json", "unsupported-media-type", "payload-too-large"),
    },
    summary="Post a batch of events",
    description="Items are decided in order, each as if posted alone after the ones before it. "
    "An atomic batch reveals no more about identities than its events posted one by one: when "
    "an item is refused, the results still report every identity-conflict the items would have "
    "met, exactly as a non-atomic batch does (the others that were fine are batch-not-stored), "
    "and the audit line of the refused batch names the people its events named, as a stored "
    "post's would. Each identity-conflict costs the key as much of its rate limit as 60 "
    "requests, in a batch as alone. A server process works on `JOINUP_BATCH_CONCURRENCY` "
    "batches at a time (1 by default); a batch that arrives meanwhile waits its turn, in order "
    "of arrival. Items that would take a person past `JOINUP_MAX_EVENTS_PER_PERSON` counting "
    "events are rejected with person-history-full.",
)
async def post_batch(
    caller: Submitter,
    batch: Batch,
    conn: BatchConn,
    rt: RuntimeDep,
    metrics: MetricsDep,
    dry_run: DryRun = False,
) -> JSON:
    items, atomic = batch
    if dry_run:
        outcome = await ingest.rehearse(conn, caller, items, atomic=atomic, rules=rt.rules)
    else:
        # Not while holding SQLite's one write lock: reads' audit rows wait for it, and a pause
        # would only keep them waiting longer.
        pacing = nullcontext() if rt.db.single_writer else turns.yielding_to(rt.readers)
        with metrics.timed("batch"), pacing:
            outcome = await ingest.ingest(conn, caller, items, atomic=atomic, rules=rt.rules)
        metrics.count_events(caller.org, items, outcome)
    charge_identity_conflicts(rt, caller, outcome.identity_conflicts())
    body: dict[str, Any] = {
        "accepted": outcome.count(ingest.ACCEPTED),
        "duplicates": outcome.count(ingest.DUPLICATE),
        "rejected": outcome.count(ingest.REJECTED),
        "stored": outcome.stored,
        "results": [_item_json(r) for r in outcome.results],
    }
    if dry_run:
        body["dry_run"] = True
    if not (atomic and body["rejected"]):
        return JSON(body)
    failure = problem_body(
        "batch-rejected",
        "Batch rejected",
        422,
        "an event was refused, so none would be stored"
        if dry_run
        else "an event was refused, so none was stored",
    )
    response = JSON({**failure, **body}, 422)
    response.headers["content-type"] = MEDIA_TYPE
    return response


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
