"""From stored events to the rules' input, and keeping stored release records up to date."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from app.db import Connection
from app.db import events as event_store
from app.db import releases as release_store
from app.domain.events import Event
from app.domain.rules import Rules
from app.domain.versions import RecordVersion, versions
from app.domain.vocabulary import EventType
from app.services import views
from app.services.notifications import outbox
from app.services.turns import in_turns

# People derived between two turns of the event loop (a few milliseconds of work).
DERIVE_TURN = 8
# People whose events are read in one query. Turning a query's rows into the rules' events
# does not hand the event loop back: for a whole batch's 1,000 people at once (5,000 events)
# it held the loop for 20 to 40 ms, and every read the worker was serving waited for it.
FETCH_PEOPLE = 200

_RELEASE_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4c1b-9d47-3b1f0e9a7c21")


@lru_cache(maxsize=1 << 16)
def lineage(org: str, root_event_id: str) -> str:
    """The stable id of a correction chain; a release takes the id of its first chain."""
    return str(uuid.uuid5(_RELEASE_NAMESPACE, f"{org}/{root_event_id}"))


def to_domain(row: Any) -> Event:
    """The rules' event from a row of `counting_of_people` (seq, org, root_event_id, person_id,
    type, occurred_on, data).

    This runs for every counting event of every person derived, so the row is read by position
    (a Row attribute costs ten times an index).
    """
    seq, org, root_event_id, _, kind, occurred_on, data = row
    return event_of(seq, org, root_event_id, kind, occurred_on, data)


def event_of(
    seq: int, org: str, root_event_id: str, kind: str, occurred_on: date, data: dict[str, Any]
) -> Event:
    """The rules' event from a counting event's parts: `seq` orders the person's events of one
    date by arrival, and (org, root_event_id) names its correction chain.

    Only a release's lineage, which becomes its release id, is hashed: other events' lineages
    are never shown, and their chain's plain name serves.
    """
    if kind == EventType.OST_PRESCRIBED:
        data = {**data, "first_dose_on": date.fromisoformat(data["first_dose_on"])}
    chain = (
        lineage(org, root_event_id)
        if kind == EventType.PRISON_RELEASED
        else f"{org}/{root_event_id}"
    )
    return Event(seq, kind, occurred_on, data, chain)


def group_by_person(rows: Iterable[Any]) -> dict[str, list[Event]]:
    """Rows of `counting_of_people` as the rules' events, by person id."""
    grouped: dict[str, list[Event]] = defaultdict(list)
    for row in rows:
        grouped[row[3]].append(to_domain(row))
    return grouped


def version_row(person_id: str, v: RecordVersion) -> dict[str, Any]:
    """The stored form of one version of a release's record."""
    return {
        "release_id": v.release_id,
        "valid_from": v.valid_from,
        "valid_until": v.valid_until,
        "person_id": person_id,
        "released_on": v.released_on,
        "prison": v.prison,
        "release_type": v.release_type,
        "local_authority": v.local_authority,
        "probation_region": v.probation_region,
        "community_provider": v.community_provider,
        "stage": v.stage,
        "open_flags": release_store.flag_mask(v.open_flags),
        "tally": release_store.tally_bits(v.tally),
        "record": views.stored(v.record),
    }


async def refresh(
    conn: Connection,
    person_ids: Collection[str],
    rules: Rules,
    given: Mapping[str, list[Event]] | None = None,
) -> None:
    """Re-derive the stored release records of these people from their counting events.

    The people in `given` are derived from the events given for them, which must be all their
    counting events (a post's new people, whose events are all in the post), and have no stored
    records to replace; the others' events are read.
    """
    given = given or {}
    ids = sorted(person_ids)
    stored = [p for p in ids if p not in given]
    rows: list[dict[str, Any]] = []
    for start in range(0, len(stored), FETCH_PEOPLE):
        fetched = stored[start : start + FETCH_PEOPLE]
        events = group_by_person(await event_store.counting_of_people(conn, fetched))
        rows += await _version_rows(fetched, events, rules)
    rows += await _version_rows([p for p in ids if p in given], given, rules)
    async with outbox.recorded(conn, ids):
        await release_store.replace_for_people(conn, stored, rows)


async def _version_rows(
    person_ids: Sequence[str], events: Mapping[str, list[Event]], rules: Rules
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async for chunk in in_turns(person_ids, DERIVE_TURN):
        rows += [version_row(p, v) for p in chunk for v in versions(events.get(p, []), rules)]
    return rows
