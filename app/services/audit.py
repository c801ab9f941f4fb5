"""The audit trail, in the HMPPS audit shape: what was done, by whom, when, about whom, in which
request.

Every read of person-level data, every change of events and every change of keys writes one row:
a change's in the transaction of the change, a read's before its answer is sent (see
`app.db.audit.Trail`), so no answer goes out without its row stored (the CSV export, which
streams, is recorded when the stream ends). The
services write the rows because they know what was read; the caller's request id comes in on
the `Principal`. Rows are only ever added: `app.db.audit` can insert and select, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

import orjson

from app.db import Connection
from app.db import audit as audit_store
from app.db.audit import AuditFilter
from app.services import clock, cursors
from app.services.principal import Principal

SERVICE: Final = "joinup"

READ_PERSON: Final = "READ_PERSON"
READ_TIMELINE: Final = "READ_TIMELINE"
# A submitter reading back an event it posted: identifiers and health data of its person.
READ_EVENT: Final = "READ_EVENT"
READ_RELEASES: Final = "READ_RELEASES"
EXPORT_RELEASES_CSV: Final = "EXPORT_RELEASES_CSV"
READ_METRICS: Final = "READ_METRICS"
EXPORT_SUBJECT: Final = "EXPORT_SUBJECT"
READ_AUDIT: Final = "READ_AUDIT"
POST_EVENTS: Final = "POST_EVENTS"
# A submitter's list of the events its organisation posted (GET /v1/events).
READ_EVENTS: Final = "READ_EVENTS"
RETRACT_EVENT: Final = "RETRACT_EVENT"
KEY_CREATED: Final = "KEY_CREATED"
KEY_REVOKED: Final = "KEY_REVOKED"
KEY_SCOPE_CHANGED: Final = "KEY_SCOPE_CHANGED"
KEY_TYPES_CHANGED: Final = "KEY_TYPES_CHANGED"
READ_CHANGES: Final = "READ_CHANGES"
DELIVER_CHANGES: Final = "DELIVER_CHANGES"
SUBSCRIPTION_CREATED: Final = "SUBSCRIPTION_CREATED"
SUBSCRIPTION_DELETED: Final = "SUBSCRIPTION_DELETED"
SUBSCRIPTION_ENABLED: Final = "SUBSCRIPTION_ENABLED"
# An HMPPS domain event ignored or kept pending (stored ones are POST_EVENTS), and an SNS
# subscription confirmed or ended (CONTRACT §8).
HMPPS_EVENT: Final = "HMPPS_EVENT"
HMPPS_SUBSCRIPTION: Final = "HMPPS_SUBSCRIPTION"
SIGN_IN: Final = "SIGN_IN"
SIGN_OUT: Final = "SIGN_OUT"
WHATS: Final = (
    READ_PERSON,
    READ_TIMELINE,
    READ_EVENT,
    READ_RELEASES,
    EXPORT_RELEASES_CSV,
    READ_METRICS,
    EXPORT_SUBJECT,
    READ_AUDIT,
    POST_EVENTS,
    READ_EVENTS,
    RETRACT_EVENT,
    KEY_CREATED,
    KEY_REVOKED,
    KEY_SCOPE_CHANGED,
    KEY_TYPES_CHANGED,
    READ_CHANGES,
    DELIVER_CHANGES,
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_DELETED,
    SUBSCRIPTION_ENABLED,
    HMPPS_EVENT,
    HMPPS_SUBSCRIPTION,
    SIGN_IN,
    SIGN_OUT,
)

# subjectType: one person, a query over many (its rows name the people shown), events, a key.
PERSON: Final = "person"
QUERY: Final = "query"
EVENT: Final = "event"
EVENTS: Final = "events"
KEY: Final = "key"
SUBSCRIPTION: Final = "subscription"
SESSION: Final = "session"

# Outcomes of reads; writes keep "stored" and "refused".
OK: Final = "ok"
NOT_FOUND: Final = "not-found"
INTERRUPTED: Final = "interrupted"


@dataclass(frozen=True)
class Entry:
    """One row of the trail; `who` None is the console (the first admin key, `joinup key
    create`)."""

    who: Principal | None
    what: str
    subject_type: str
    details: Mapping[str, Any]
    subject: str | None = None
    outcome: str = OK
    at: datetime | None = None

    def row(self) -> dict[str, Any]:
        who = self.who
        return {
            "at": self.at or clock.now(),
            "key_id": who.key_id if who else None,
            "org": who.org if who else None,
            "action": self.what,
            "outcome": self.outcome,
            "subject": self.subject,
            "subject_type": self.subject_type,
            "request_id": who.request_id if who else None,
            "caller_request_id": who.caller_request_id if who else None,
            "detail": _jsonable(self.details),
        }


async def record(
    conn: Connection,
    who: Principal | None,
    what: str,
    *,
    subject_type: str,
    details: Mapping[str, Any],
    subject: str | None = None,
    outcome: str = OK,
    at: datetime | None = None,
) -> None:
    """Add one row."""
    entry = Entry(who, what, subject_type, details, subject, outcome, at)
    await audit_store.record(conn, [entry.row()])


async def record_each(conn: Connection, entries: Sequence[Entry]) -> None:
    """Add a row for each entry, in one statement."""
    await audit_store.record(conn, [entry.row() for entry in entries])


def _jsonable(value: Any) -> Any:
    """Dates as ISO strings, sets as sorted lists: what the JSON column can hold."""
    return orjson.loads(orjson.dumps(value, default=_sorted))


def _sorted(value: Any) -> list[Any]:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def entry(row: Any) -> dict[str, Any]:
    """A stored row as the trail is read and forwarded (HMPPS audit field names)."""
    return {
        "what": row.action,
        "who": row.key_id,
        "when": row.at,
        "subjectId": row.subject,
        "subjectType": row.subject_type,
        "correlationId": row.request_id,
        "callerRequestId": row.caller_request_id,
        "service": SERVICE,
        "details": {**row.detail, "org": row.org, "outcome": row.outcome},
    }


@dataclass(frozen=True)
class AuditQuery:
    """`GET /v1/audit`'s filters; `first_day`..`last_day` are London days, both included."""

    person_id: str | None = None
    org: str | None = None
    what: str | None = None
    first_day: date | None = None
    last_day: date | None = None

    def to_filter(self) -> AuditFilter:
        return AuditFilter(
            person_id=self.person_id,
            org=self.org,
            action=self.what,
            since=_midnight(self.first_day),
            until=_midnight(self.last_day + timedelta(days=1) if self.last_day else None),
        )

    def described(self) -> dict[str, Any]:
        named = {
            "person_id": self.person_id,
            "org": self.org,
            "what": self.what,
            "from": self.first_day,
            "to": self.last_day,
        }
        return {name: value for name, value in named.items() if value is not None}


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, clock.LONDON) if day is not None else None


async def page(
    conn: Connection, who: Principal, query: AuditQuery, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the trail, newest first; reading it is recorded too (after the page is read,
    so a walk through the pages never meets its own rows)."""
    before = None
    if cursor is not None:
        query, before = _continued(query, cursor)
    rows = await audit_store.newest(conn, query.to_filter(), before, limit + 1)
    shown = rows[:limit]
    details: dict[str, Any] = {
        "filters": query.described(),
        "continued": before is not None,
        "rows": len(shown),
    }
    if query.person_id is not None:
        details["person_ids"] = [query.person_id]
    await record(conn, who, READ_AUDIT, subject_type=QUERY, details=details)
    next_cursor = _encode_cursor(shown[-1].id, query) if len(rows) > limit else None
    return [entry(row) for row in shown], next_cursor


async def about(conn: Connection, person_id: str) -> list[dict[str, Any]]:
    """Every row about a person, newest first: reads of them, lists and posts that named them."""
    rows = await audit_store.newest(conn, AuditFilter(person_id=person_id), None, None)
    return [entry(row) for row in rows]


def _encode_cursor(row_id: int, query: AuditQuery) -> str:
    return cursors.encode({"before": row_id}, query.described())


def _continued(query: AuditQuery, cursor: str) -> tuple[AuditQuery, int]:
    """The query a cursor continues (its own filters; others given with it are refused) and
    the row id its next page starts before."""
    continued = cursors.decode(cursor, query.described())
    before, carried = continued.position.get("before"), continued.filters
    if not isinstance(before, int) or isinstance(before, bool) or not 0 < before < 2**63:
        raise cursors.unknown()
    try:
        first, last = carried.get("from"), carried.get("to")
        return AuditQuery(
            person_id=carried.get("person_id"),
            org=carried.get("org"),
            what=carried.get("what"),
            first_day=date.fromisoformat(first) if first else None,
            last_day=date.fromisoformat(last) if last else None,
        ), before
    except (TypeError, ValueError):
        raise cursors.unknown() from None
