"""Reading back and retracting the events an organisation posted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.db import Connection, locks
from app.db import events as event_store
from app.domain.identity import keys_of
from app.domain.rules import Rules
from app.schemas.fields import EVENT_ID
from app.services import audit, clock, cursors, derivation, identity
from app.services.errors import Conflict, NotFound
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
    """An event the caller's organisation posted, its read recorded against its person."""
    row = await event_store.get(conn, principal.org, event_id)
    details: dict[str, Any] = {"person_ids": [row.person_id] if row is not None else []}
    await audit.record(
        conn,
        principal,
        audit.READ_EVENT,
        subject=event_id[:200],
        subject_type=audit.EVENT,
        outcome=audit.OK if row is not None else audit.NOT_FOUND,
        details=details,
    )
    if row is None:
        raise _none_posted(event_id)
    return view(row)


async def retract(
    conn: Connection, principal: Principal, event_id: str, reason: str, rules: Rules
) -> dict[str, Any]:
    """Make an event (and all it corrected) stop counting; retracting twice changes nothing."""
    if not EVENT_ID.fullmatch(event_id):
        # No event could have been posted with it; it is no id to lock either.
        raise _none_posted(event_id)
    await locks.lock_events(conn, principal.org, [event_id])
    row = await _own(conn, principal, event_id)
    refused = principal.may_write(row.type)
    if refused is not None:
        raise refused
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
    after = 0
    if cursor is not None:
        # The next page needs only the cursor: it carries the filters of the first.
        continued = cursors.decode(cursor, {"since": since, "type": type_})
        after = _after(continued.position)
        since = _since(continued.filters.get("since")) or since
        type_ = continued.filters.get("type", type_)
    filters = cursors.as_json({"since": since, "type": type_})
    rows = await event_store.posted(conn, principal.org, after, limit + 1, since, type_)
    shown = rows[:limit]
    details = {
        "filters": filters,
        "continued": cursor is not None,
        "rows": len(shown),
        "person_ids": list({row.person_id: 0 for row in shown}),
    }
    await audit.record(
        conn, principal, audit.READ_EVENTS, subject_type=audit.QUERY, details=details
    )
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursors.encode({"after": shown[-1].seq}, filters)
    return {"items": [view(row) for row in shown], "next_cursor": next_cursor}


def _after(position: dict[str, Any]) -> int:
    after = position.get("after")
    if not isinstance(after, int):
        raise cursors.unknown()
    return after


def _since(carried: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(carried) if isinstance(carried, str) else None
    except ValueError:
        raise cursors.unknown() from None
