"""A subject access export: everything joinup holds about one person, as one document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from app.db import Connection
from app.db import events as event_store
from app.db import people as people_store
from app.domain.records import derive
from app.domain.rules import Rules
from app.services import audit, clock, derivation, events, people
from app.services.principal import Principal
from app.services.views import record_view
from app.tuning import turns


async def export(
    conn: Connection, who: Principal, scheme: str, value: str, rules: Rules
) -> dict[str, Any]:
    """Every stored event of the person (counting or not), their records as of today and every
    audit row about them (this export's own row is written after, so it is not in it).

    A scoped key sees the person when one of their releases, on any date, is in its scope, and
    then sees all of it, as with the timeline: an export cut down to some releases would not be
    the person's data.
    """
    person_id, _ = await people.lookup(
        conn, who, audit.EXPORT_SUBJECT, scheme, value, None, any_date=True
    )
    document = await _gathered(conn, person_id, clock.today(), rules)
    counts = {name: len(document[name]) for name in ("events", "releases", "audit")}
    await audit.record(
        conn,
        who,
        audit.EXPORT_SUBJECT,
        subject=person_id,
        subject_type=audit.PERSON,
        details={**people.looked_up(scheme, document["as_of"]), **counts},
    )
    return document


async def _gathered(conn: Connection, person_id: str, today: date, rules: Rules) -> dict[str, Any]:
    known = (await people_store.identifiers_of(conn, [person_id]))[person_id]
    every = await people_store.every_identifier(conn, person_id)
    stored = await event_store.of_person(conn, person_id)
    # Up to JOINUP_MAX_EVENTS_PER_PERSON events to show and derive from: hundreds of ms of pure
    # Python for the longest histories, which would hold every other request up.
    shown, records = await turns.off_the_loop(
        _shown_and_derived, stored, person_id, known, today, rules
    )
    return {
        "person_id": person_id,
        "identifiers": known,
        "all_identifiers": [{"scheme": scheme, "value": value} for scheme, value in every],
        "as_of": today,
        "events": shown,
        "releases": records,
        "audit": await audit.about(conn, person_id),
    }


def _shown_and_derived(
    stored: Sequence[Any], person_id: str, known: Mapping[str, str], today: date, rules: Rules
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every stored event as the export shows it, and the records of those that count, newest
    first."""
    shown = [{**events.view(row), "org": row.org} for row in stored]
    counting = [
        derivation.event_of(
            row.seq, row.org, row.root_event_id, row.type, row.occurred_on, row.data
        )
        for row in stored
        if row.superseded_by is None and row.retracted_at is None
    ]
    records = reversed(derive(counting, today, rules))
    return shown, [record_view(r, person_id, known) for r in records]
