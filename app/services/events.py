"""Reading back and retracting the events an organisation posted."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson

from app.db import Connection, locks
from app.db import events as event_store
from app.domain.identity import keys_of
from app.domain.rules import Rules
from app.schemas.events import EVENT_ID
from app.services import audit, clock, derivation, identity
from app.services.errors import Conflict, ErrorItem, Invalid, NotFound
from app.services.principal import Principal


def view(row: Any) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "type": row.type,
        "occurred_on": row.occurred_on,
        "person": row.person,
        "data": row.data,
        "corrects": row.corrects,
        "person_id": row.person_id,
        "received_at": row.received_at,
        "superseded_by": row.superseded_by,
        "retracted": row.retracted_at is not None,
        "retracted_at": row.retracted_at,
        "retraction_reason": row.retraction_reason,
    }


def _none_posted(event_id: str) -> NotFound:
    return NotFound(f"your organisation has posted no event {event_id!r}")


async def _own(conn: Connection, principal: Principal, event_id: str) -> Any:
    row = await event_store.get(conn, principal.org, event_id)
    if row is None:
        raise _none_posted(event_id)
    return row


async def read(conn: Connection, principal: Principal, event_id: str) -> dict[str, Any]:
    return view(await _own(conn, principal, event_id))


async def retract(
    conn: Connection, principal: Principal, event_id: str, reason: str, rules: Rules
) -> dict[str, Any]:
    """Make an event (and all it corrected) stop counting; retracting twice changes nothing."""
    if not EVENT_ID.fullmatch(event_id):
        # No event could have been posted with it; it is no id to lock either.
        raise _none_posted(event_id)
    await locks.lock_events(conn, principal.org, [event_id])
    row = await _own(conn, principal, event_id)
    if row.superseded_by is not None:
        raise Conflict(
            f"event {event_id!r} has been corrected by {row.superseded_by!r}; "
            "retract the correction instead",
            slug="event-superseded",
        )
    if row.retracted_at is None:
        await locks.lock_people(conn, [row.person_id])
        at = clock.now()
        await event_store.retract(conn, principal.org, event_id, at, reason)
        parted = await identity.release(conn, row.person_id, keys_of(row.person), at)
        # Split, the person's events are read back whole; else the retraction is one edit.
        edit = derivation.edit_of(row.type, row.occurred_on, row.data)
        edits = {} if parted else {row.person_id: [edit]}
        await derivation.refresh(conn, [row.person_id, *parted], rules, edits=edits)
        await audit.record(
            conn,
            principal,
            audit.RETRACT_EVENT,
            subject=event_id,
            subject_type=audit.EVENT,
            outcome="stored",
            details={"reason": reason, "person_ids": [row.person_id, *parted]},
            at=at,
        )
        row = await _own(conn, principal, event_id)
    return view(row)


def _cursor(after: int, filters: dict[str, Any]) -> str:
    payload = orjson.dumps({"after": after, "filters": filters})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _position(cursor: str, filters: dict[str, Any]) -> int:
    """Where a cursor of a list with these filters goes on from; Invalid when it is not one of
    ours, `cursor-mismatch` when it was made for a list with other filters."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after, made_with = int(payload["after"]), payload["filters"]
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise Invalid(
            "the cursor is not one this service gave out",
            errors=[ErrorItem(["query", "cursor"], "unknown cursor")],
        ) from None
    if made_with != filters:
        raise Invalid(
            f"the cursor was made for the list with {made_with}; send it with those filters, "
            "or start again without a cursor",
            slug="cursor-mismatch",
            title="Cursor mismatch",
            errors=[ErrorItem(["query", "cursor"], "made for other filters")],
        )
    return after


async def posted(
    conn: Connection,
    principal: Principal,
    since: datetime | None,
    type_: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """A page of the events the caller's organisation posted, oldest received first, so that
    an integration can reconcile what it sent with what joinup holds; recorded in the audit
    trail with the people the page names."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    filters = {"since": since.isoformat() if since else None, "type": type_}
    after = _position(cursor, filters) if cursor is not None else 0
    rows = await event_store.posted(conn, principal.org, after, limit + 1, since, type_)
    shown = rows[:limit]
    details = {
        "filters": {name: value for name, value in filters.items() if value is not None},
        "continued": cursor is not None,
        "rows": len(shown),
        "person_ids": list({row.person_id: 0 for row in shown}),
    }
    await audit.record(
        conn, principal, audit.READ_EVENTS, subject_type=audit.QUERY, details=details
    )
    next_cursor = _cursor(shown[-1].seq, filters) if len(rows) > limit else None
    return {"items": [view(row) for row in shown], "next_cursor": next_cursor}
