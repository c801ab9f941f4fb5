"""The page each problem `type` names (`/problems/{slug}`): what the problem means and how to
put it right, so that the `type` of every error answer resolves to an explanation (RFC 9457)."""

from __future__ import annotations

from html import escape
from typing import Final, NamedTuple

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from app.services.errors import NotFound

router = APIRouter(include_in_schema=False)


class Explained(NamedTuple):
    status: int
    title: str
    meaning: str
    fix: str


CATALOGUE: Final = {
    "validation-error": Explained(
        422,
        "Validation error",
        "The request does not match what the operation takes. `errors` lists each problem: "
        "`loc` is where it is (body, query or path, then the field), `msg` what is wrong.",
        "Change the fields `errors` names; the API reference (/docs) shows every field's form.",
    ),
    "malformed-json": Explained(
        400, "Malformed JSON", "The body is not valid JSON.", "Send one JSON value, UTF-8."
    ),
    "payload-too-large": Explained(
        413,
        "Payload too large",
        "The body, or a batch's number of events, is larger than the service takes.",
        "Split it: a batch holds at most JOINUP_MAX_BATCH events (1000 by default).",
    ),
    "unsupported-media-type": Explained(
        415,
        "Unsupported media type",
        "The body is not sent as application/json.",
        "Send `Content-Type: application/json`.",
    ),
    "method-not-allowed": Explained(
        405, "Method not allowed", "The path does not take this method.", "See /docs."
    ),
    "not-found": Explained(
        404,
        "Not found",
        "Nothing is known under this address for the caller: no such person, event or key, or "
        "one the key's organisation or scope does not reach.",
        "Check the identifier; an event is found only by the organisation that posted it.",
    ),
    "unauthorized": Explained(
        401,
        "Unauthorized",
        "No key was sent, or the key is unknown or revoked.",
        "Send `Authorization: Bearer <key>` with a key an admin made for you.",
    ),
    "forbidden": Explained(
        403,
        "Forbidden",
        "The key is known but has no role for this operation, or the operation lies outside "
        "its scope.",
        "Ask an admin for a key with the role the operation names (/docs lists them).",
    ),
    "event-type-not-allowed": Explained(
        403,
        "Event type not allowed",
        "The key may not post, correct or retract events of this type; nothing was stored.",
        "Post it with a key whose `event_types` include the type, or ask an admin to add it.",
    ),
    "rate-limited": Explained(
        429,
        "Too many requests",
        "The key has used up its rate limit for now.",
        "Wait the seconds `Retry-After` says, then send again.",
    ),
    "request-timeout": Explained(
        408,
        "Request timeout",
        "The request's body arrived too slowly and was given up; nothing was changed.",
        "Send the whole body again at once; posting is idempotent by event_id.",
    ),
    "service-unavailable": Explained(
        503,
        "Service unavailable",
        "The database cannot be reached just now; nothing was changed.",
        "Send the same request again after `Retry-After`: posting is idempotent by event_id.",
    ),
    "internal-error": Explained(
        500,
        "Internal error",
        "Something went wrong inside the service; nothing half written was kept.",
        "Send again later; if it persists, tell the service's operators the time it happened.",
    ),
    "identity-conflict": Explained(
        409,
        "Identity conflict",
        "The event's identifiers name two different people, or would give the person they "
        "name a second value of a scheme (a second NOMIS number, CRN, NHS number or PNC). "
        "Nothing was stored.",
        "Check the identifiers against your records; if two people really are one, the wrong "
        "identifier's events must be corrected or retracted first (docs/identity.md).",
    ),
    "event-id-conflict": Explained(
        409,
        "Event id already used",
        "Your organisation posted an event with this event_id before, with other content. "
        "`errors` names each field that differs. Posting the very same event again is fine "
        "(answered as a duplicate).",
        'To change the event, post a correction: a new event_id and `"corrects": "<the old '
        'event_id>"`, or retract the old one and post a new event.',
    ),
    "person-history-full": Explained(
        409,
        "Person's history full",
        "The person already has as many counting events as JOINUP_MAX_EVENTS_PER_PERSON allows "
        "(20,000 by default); the event was not stored.",
        "Correct or retract events of the person that should not count, then post again.",
    ),
    "already-corrected": Explained(
        409,
        "Already corrected",
        "The event named in `corrects` has been corrected already; an event is corrected once.",
        "Correct the correction instead (its event_id is in the detail).",
    ),
    "correction-type-mismatch": Explained(
        409,
        "Correction type mismatch",
        "A correction must be of the same type as the event it corrects.",
        "Retract the event and post one of the right type instead.",
    ),
    "event-superseded": Explained(
        409,
        "Event superseded",
        "The event has been corrected, so it no longer counts on its own.",
        "Retract the correction (named in the detail): that retracts the whole chain.",
    ),
    "batch-rejected": Explained(
        422,
        "Batch rejected",
        "An atomic batch had a refused event, so none of its events was stored; `results` says "
        "which were refused and why.",
        "Fix the refused events and post the whole batch again.",
    ),
    "batch-not-stored": Explained(
        409,
        "Not stored",
        "This event was fine, but another event of its atomic batch was refused, so none was "
        "stored.",
        "Post the batch again once the refused events are fixed.",
    ),
    "cursor-mismatch": Explained(
        422,
        "Cursor mismatch",
        "A cursor carries the filters of the list it came from and was sent with others.",
        "Send the cursor with the very filters of its first page, or start again without it.",
    ),
    "upstream-refused": Explained(
        502,
        "Upstream refused",
        "An HMPPS service (CVL, HMPPS Auth or SNS) answered other than asked.",
        "Check the integration's settings (docs/hmpps.md); the domain event was not stored.",
    ),
    "upstream-unavailable": Explained(
        503,
        "Upstream unavailable",
        "An HMPPS service could not be reached.",
        "Send again later; a domain event that was accepted as pending is retried by joinup.",
    ),
    "conflict": Explained(
        409, "Conflict", "The request contradicts what is stored.", "Read the detail."
    ),
    "http-error": Explained(
        400, "HTTP error", "The request could not be served as sent.", "Read the detail."
    ),
}


def _page(slug: str, explained: Explained) -> str:
    title = escape(explained.title)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} - joinup problem</title></head><body><main>"
        f"<h1>{title}</h1><p>HTTP status {explained.status}; problem type "
        f"<code>/problems/{escape(slug)}</code>.</p>"
        f"<h2>What it means</h2><p>{escape(explained.meaning)}</p>"
        f"<h2>How to put it right</h2><p>{escape(explained.fix)}</p>"
        "</main></body></html>"
    )


@router.get("/problems/{slug}", response_class=HTMLResponse)
async def problem_page(slug: str) -> HTMLResponse:
    explained = CATALOGUE.get(slug)
    if explained is None:
        raise NotFound(f"joinup has no problem type {slug!r}; the known ones are listed at /docs")
    return HTMLResponse(_page(slug, explained))
