"""Probation's handover view and a person's timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final, TypeVar

from app.db import Connection, histories, people
from app.db import events as event_store
from app.db import releases as release_store
from app.domain import identifiers, spans
from app.domain.records import JoinUpRecord, derive
from app.domain.rules import Rules
from app.domain.vocabulary import EventType
from app.services import audit, derivation
from app.services.errors import ErrorItem, Invalid, NotFound
from app.services.principal import Principal
from app.services.views import StoredView, record_view, stored_view

Shown = TypeVar("Shown")


def checked(scheme: str, value: str) -> str:
    """The identifier normalised as events' are (a PNC in its long form); a malformed one is
    Invalid, not unknown: no person could ever be found by it."""
    try:
        return identifiers.validate(scheme, value)
    except identifiers.InvalidIdentifier as exc:
        raise Invalid(
            # The value is personal data: the answer does not repeat it.
            f"the {scheme} given is not well formed: {exc}",
            errors=[ErrorItem(["path", "value"], str(exc))],
        ) from None


def _not_a_scheme(scheme: str) -> NotFound:
    return NotFound(f"{scheme!r} is not an identifier scheme: use nomis, crn, nhs or pnc")


def _unknown(scheme: str, value: str) -> NotFound:
    return NotFound(f"no person is known by {scheme} {value}")


def looked_up(scheme: str, as_of: date | None) -> dict[str, Any]:
    """What a person read's audit row says of the lookup: the scheme, never the value."""
    return {"scheme": scheme if scheme in identifiers.SCHEMES else None, "as_of": as_of}


# No person has this id: an unknown identifier's scope query asks for them.
_NOBODY: Final = ""


async def lookup(
    conn: Connection,
    who: Principal,
    what: str,
    scheme: str,
    value: str,
    as_of: date | None,
    *,
    any_date: bool = False,
) -> tuple[str, dict[str, set[date]] | None]:
    """The person an identifier names, and their releases in `who`'s scope (None: unscoped), as
    of `as_of` or on any date, each with its release dates; a refused lookup is recorded before
    it is refused.

    A person with no release in scope is not found, exactly as an unknown one is, and costs the
    same work: the scope is asked about an unknown identifier too, so that neither the answer nor
    its time tells a scoped key that the person exists. The audit row names the person when
    there is one, and the scheme, never the value.
    """
    if scheme not in identifiers.SCHEMES:
        await _refused(conn, who, what, scheme, as_of, None)
        raise _not_a_scheme(scheme)
    key = (scheme, checked(scheme, value))
    person_id = (await people.owners(conn, [key])).get(key)
    admitted = None
    if who.scope is not None:
        scope_on = None if any_date else as_of
        asked = person_id or _NOBODY
        admitted = await release_store.in_scope_of_person(conn, asked, who.scope, scope_on)
    if person_id is None or admitted == {}:
        await _refused(conn, who, what, scheme, as_of, person_id)
        raise _unknown(*key)
    return person_id, admitted


async def _refused(
    conn: Connection,
    who: Principal,
    what: str,
    scheme: str,
    as_of: date | None,
    person_id: str | None,
) -> None:
    await audit.record(
        conn,
        who,
        what,
        subject=person_id,
        subject_type=audit.PERSON,
        outcome=audit.NOT_FOUND,
        details=looked_up(scheme, as_of),
    )


def _bearing_on(
    rows: Sequence[Any], admitted: dict[str, set[date]], as_of: date | None
) -> list[Any]:
    """The events dated in the (p, n) spans of the admitted releases, up to `as_of`."""
    released = [row.occurred_on for row in rows if row.type == EventType.PRISON_RELEASED]
    chosen = set().union(*admitted.values())
    windows = spans.spans(released, chosen)
    return [
        row
        for row in rows
        if spans.within(row.occurred_on, windows) and (as_of is None or row.occurred_on <= as_of)
    ]


async def records_of(
    conn: Connection, person_id: str, as_of: date, rules: Rules, admitted: set[str] | None
) -> list[JoinUpRecord]:
    """The person's records as of `as_of` (those `admitted`, or all when None), newest first,
    derived from their events."""
    rows = await histories.counting_of_people(conn, [person_id])
    events = [derivation.to_domain(row) for row in rows]
    return [
        record
        for record in reversed(derive(events, as_of, rules))
        if admitted is None or record.release_id in admitted
    ]


async def shown(
    conn: Connection,
    rows: Sequence[Any],
    as_of: date,
    rules: Rules,
    known: Mapping[str, Mapping[str, str]],
    view: StoredView[Shown],
) -> dict[str, Shown | dict[str, Any]]:
    """The records of these stored release versions (release_id, person_id, record) as readers
    see them, by release id, with the people's identifiers `known`: a stored record as `view`
    makes it (`views.encoded_view` for a JSON answer), a derived one as a dict.

    A version stored before records were kept has none: its person's records are derived from
    their events instead.
    """
    views: dict[str, Shown | dict[str, Any]] = {
        row.release_id: view(
            row.record, row.release_id, row.person_id, known.get(row.person_id, {}), as_of
        )
        for row in rows
        if row.record is not None
    }
    unstored = sorted({row.person_id for row in rows if row.record is None})
    if unstored:
        events = derivation.group_by_person(await histories.counting_of_people(conn, unstored))
        views.update(
            (record.release_id, record_view(record, person_id, known.get(person_id, {})))
            for person_id in unstored
            for record in derive(events.get(person_id, []), as_of, rules)
        )
    return views


async def handover(
    conn: Connection, who: Principal, scheme: str, value: str, as_of: date, rules: Rules
) -> dict[str, Any]:
    """The person's releases as of `as_of` that `who` may see, newest first.

    Like `lookup`, but the identifier, the person's identifiers and their releases are one
    read: this is the view probation systems ask for most.
    """
    if scheme not in identifiers.SCHEMES:
        await _refused(conn, who, audit.READ_PERSON, scheme, as_of, None)
        raise _not_a_scheme(scheme)
    normalised = checked(scheme, value)
    person_id, named = await release_store.named_by(conn, scheme, normalised, as_of, who.scope)
    # A scoped key sees nobody without a release in its scope, exactly as it sees nobody unknown.
    if person_id is None or (who.scope is not None and not named.rows):
        await _refused(conn, who, audit.READ_PERSON, scheme, as_of, person_id)
        raise _unknown(scheme, normalised)
    views = await shown(conn, named.rows, as_of, rules, named.identifiers, stored_view)
    release_ids = [row.release_id for row in named.rows]
    releases = [views[release_id] for release_id in release_ids]
    await _with_handover_facts(conn, person_id, releases, as_of)
    details = {**looked_up(scheme, as_of), "release_ids": release_ids}
    await audit.record(
        conn, who, audit.READ_PERSON, subject=person_id, subject_type=audit.PERSON, details=details
    )
    return {
        "person_id": person_id,
        "identifiers": named.identifiers[person_id],
        "as_of": as_of,
        "releases": releases,
    }


async def _with_handover_facts(
    conn: Connection, person_id: str, releases: list[dict[str, Any]], as_of: date
) -> None:
    """Add to each record what the handover view shows beside it (CONTRACT §5, §9): who picked
    the person up, and the days left in the pickup window while it is open."""
    started = [r["picked_up_on"] or r["late_pickup_on"] for r in releases]
    providers: dict[str, str] = {}
    if any(started):
        # Two providers starting on one day: the first by code, not the one received last, so
        # that the view does not depend on the order the events arrived in (CONTRACT §3).
        for start in await event_store.treatment_starts(conn, person_id):
            day, provider = str(start.occurred_on), start.data.get("provider")
            if provider is not None and (day not in providers or provider < providers[day]):
                providers[day] = provider
    for release, started_on in zip(releases, started, strict=True):
        release["picked_up_by"] = providers.get(str(started_on)) if started_on else None
        release["pickup_days_left"] = pickup_days_left(release, as_of)


def pickup_days_left(release: Mapping[str, Any], as_of: date) -> int | None:
    """Days from `as_of` to the end of the pickup window while it is open (0 on its last day)."""
    if release["stage"] != "awaiting_pickup":
        return None
    return (date.fromisoformat(str(release["pickup_due_by"])) - as_of).days


async def timeline(
    conn: Connection, who: Principal, scheme: str, value: str, as_of: date | None
) -> dict[str, Any]:
    """Every counting event of the person; for a scoped key, those that bear on its releases
    in scope (dated in their (p, n) spans)."""
    person_id, admitted = await lookup(
        conn, who, audit.READ_TIMELINE, scheme, value, as_of, any_date=True
    )
    known = (await people.identifiers_of(conn, [person_id]))[person_id]
    rows = await event_store.timeline(conn, person_id, as_of if admitted is None else None)
    if admitted is not None:
        rows = _bearing_on(rows, admitted, as_of)
    details = {**looked_up(scheme, as_of), "events": len(rows)}
    await audit.record(
        conn,
        who,
        audit.READ_TIMELINE,
        subject=person_id,
        subject_type=audit.PERSON,
        details=details,
    )
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
