"""Posting a batch of events (CONTRACT §3.3): each item decided as if posted alone, or none
stored when an atomic batch has a refused item."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from app.api.body import documented_schema, json_body
from app.api.deps import (
    BatchConn,
    BatchTurn,
    DryRun,
    RuntimeDep,
    Submitter,
    charge_identity_conflicts,
)
from app.api.problems import MEDIA_TYPE, problem_body, status_of
from app.api.prometheus import MetricsDep
from app.api.responses import JSON, problems
from app.schemas.api import BatchResult
from app.services import clock, ingest
from app.services.errors import ErrorItem, Invalid, ServiceError
from app.services.ingest import submissions
from app.tuning import turns

router = APIRouter(prefix="/v1/events", tags=["events"])

_BATCH_BODY = documented_schema("BatchCreate")


# The body is parsed and validated by a dependency declared before the write transaction's, so
# that this (CPU-bound) work is done before a connection, and on SQLite the write lock, is held.
async def _batch(
    request: Request, caller: Submitter, rt: RuntimeDep, _turn: BatchTurn
) -> tuple[list[submissions.Submission], bool]:
    raw, atomic = _batch_items(await json_body(request), rt.settings.max_batch)
    with turns.yielding_to(rt.readers):
        return await submissions.parse_all(raw, clock.today()), atomic


Batch = Annotated[tuple[list[submissions.Submission], bool], Depends(_batch)]


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
