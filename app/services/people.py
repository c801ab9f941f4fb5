"""Probation's handover view and a person's timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import events as event_store
from app.db import people
from app.db import releases as release_store
from app.domain import identifiers
from app.domain.records import JoinUpRecord, derive
from app.domain.rules import Rules
from app.services import derivation
from app.services.errors import NotFound
from app.services.scope import Scope

_RECORD_FIELDS = tuple(
    f.name for f in fields(JoinUpRecord) if f.name not in ("release_id", "flags")
)


def record_view(record: JoinUpRecord, person_id: str, known: Mapping[str, str]) -> dict[str, Any]:
    """A join-up record as the contract shows it (§5), with the person it belongs to."""
    # Built by hand: dataclasses.asdict deep-copies every value and was most of a page's time.
    view: dict[str, Any] = {
        "release_id": record.release_id,
        "person_id": person_id,
        "identifiers": dict(known),
    }
    for name in _RECORD_FIELDS:
        view[name] = getattr(record, name)
    view["flags"] = [
        {"code": f.code, "raised_on": f.raised_on, "resolved_on": f.resolved_on, "open": f.open}
        for f in record.flags
    ]
    return view


async def find(conn: AsyncConnection, scheme: str, value: str) -> str:
    """The person an identifier names."""
    if scheme not in identifiers.SCHEMES:
        raise NotFound(f"{scheme!r} is not an identifier scheme: use nomis, crn, nhs or pnc")
    key = (scheme, identifiers.normalise(value))
    owner = (await people.owners(conn, [key])).get(key)
    if owner is None:
        raise _unknown(*key)
    return owner


def _unknown(scheme: str, value: str) -> NotFound:
    return NotFound(f"no person is known by {scheme} {value}")


async def find_in_scope(
    conn: AsyncConnection, scheme: str, value: str, scope: Scope | None, as_of: date | None
) -> tuple[str, set[str] | None]:
    """The person an identifier names, and the ids of their releases in `scope` (None: all).

    In scope means as of `as_of`, or on any date when it is None. A person with no release in
    scope is not found, exactly as an unknown one is: a scoped key learns nothing of them.
    """
    person_id = await find(conn, scheme, value)
    if scope is None:
        return person_id, None
    admitted = await release_store.in_scope_of_person(conn, person_id, scope, as_of)
    if not admitted:
        raise _unknown(scheme, identifiers.normalise(value))
    return person_id, admitted


async def handover(
    conn: AsyncConnection,
    scheme: str,
    value: str,
    as_of: date,
    rules: Rules,
    scope: Scope | None = None,
) -> dict[str, Any]:
    person_id, admitted = await find_in_scope(conn, scheme, value, scope, as_of)
    known = (await people.identifiers_of(conn, [person_id]))[person_id]
    rows = await event_store.counting_of_people(conn, [person_id])
    events = [derivation.to_domain(row) for row in rows]
    records = [
        record
        for record in reversed(derive(events, as_of, rules))
        if admitted is None or record.release_id in admitted
    ]
    return {
        "person_id": person_id,
        "identifiers": known,
        "as_of": as_of,
        "releases": [record_view(r, person_id, known) for r in records],
    }


async def timeline(
    conn: AsyncConnection,
    scheme: str,
    value: str,
    as_of: date | None,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """Every counting event of the person, for a scoped key too once the person is in scope."""
    person_id, _ = await find_in_scope(conn, scheme, value, scope, None)
    known = (await people.identifiers_of(conn, [person_id]))[person_id]
    rows = await event_store.timeline(conn, person_id, as_of)
    return {
        "person_id": person_id,
        "identifiers": known,
        "events": [
            {
                "event_id": row.event_id,
                "org": row.org,
                "type": row.type,
                "occurred_on": row.occurred_on,
                "data": row.data,
                "corrects": row.corrects,
                "received_at": row.received_at,
            }
            for row in rows
        ],
    }
