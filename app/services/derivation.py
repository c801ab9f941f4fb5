"""From stored events to the rules' input, and keeping stored release records up to date."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from app.db import Connection, histories
from app.db import release_writes as release_store
from app.db.engine import Database
from app.db.release_filters import flag_mask
from app.db.release_metrics import tally_bits
from app.domain import horizons
from app.domain.events import Event
from app.domain.horizons import Edit
from app.domain.rules import Rules
from app.domain.timeline import Timeline
from app.domain.versions import RecordVersion, release_versions
from app.domain.vocabulary import EventType
from app.services import views
from app.services.notifications import outbox
from app.tuning import FETCH_PEOPLE
from app.tuning.turns import Pace

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


def edit_of(kind: str, occurred_on: date, data: Mapping[str, Any]) -> Edit:
    """What a counting event that was added or stopped counting may have changed."""
    dose = data.get("first_dose_on") if kind == EventType.OST_PRESCRIBED else None
    return Edit(kind, occurred_on, date.fromisoformat(dose) if isinstance(dose, str) else dose)


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
        "open_flags": flag_mask(v.open_flags),
        "tally": tally_bits(v.tally),
        "record": views.stored(v.record),
    }


async def refresh(
    conn: Connection,
    person_ids: Collection[str],
    rules: Rules,
    given: Mapping[str, list[Event]] | None = None,
    edits: Mapping[str, Collection[Edit]] | None = None,
) -> None:
    """Re-derive the stored release records of these people from their counting events.

    The people in `given` are derived from the events given for them, which must be all their
    counting events (a post's new people, whose events are all in the post), and have no stored
    records to replace. For the people in `edits` (the events that started or stopped counting
    for them), only the releases those can have changed are derived again, each from the events
    of its own horizon (app/domain/horizons.py): one more event costs the same however long the
    person's history. The others are derived whole, from all their events.
    """
    given, edits = given or {}, edits or {}
    ids = sorted(person_ids)
    whole = [p for p in ids if p not in given and p not in edits]
    partial = [p for p in ids if p not in given and p in edits]
    partial_set = set(partial)
    pace = Pace()
    rows: list[dict[str, Any]] = []
    for start in range(0, len(whole), FETCH_PEOPLE):
        fetched = whole[start : start + FETCH_PEOPLE]
        events = group_by_person(await histories.counting_of_people(conn, fetched))
        rows += await _version_rows(fetched, events, rules, pace)
    rows += await _version_rows([p for p in ids if p in given], given, rules, pace)
    chosen, events = await _horizons(conn, partial, edits, rules)
    edited = await _version_rows(partial, events, rules, pace, chosen)
    releases = [(p, day) for p in partial for day in chosen[p]]
    days = {day for p in partial for day in chosen[p]}
    # A post's new people have no stored records for the outbox to read and compare with.
    stored = [p for p in ids if p not in partial_set and p not in given]
    async with outbox.recorded(conn, stored, rows), outbox.recorded(conn, partial, edited, days):
        await release_store.replace(conn, whole, rows, releases, edited)


async def _horizons(
    conn: Connection, person_ids: Sequence[str], edits: Mapping[str, Collection[Edit]], rules: Rules
) -> tuple[dict[str, set[date]], dict[str, list[Event]]]:
    """For each person, the dates of the releases their edits may have changed, and the counting
    events of those releases' horizons."""
    days = await histories.release_days(conn, person_ids)
    chosen = {p: horizons.affected(days[p], edits[p], rules) for p in person_ids}
    windows = [
        (p, first, last)
        for p in person_ids
        for first, last in horizons.horizons(days[p], chosen[p], rules)
    ]
    return chosen, group_by_person(await histories.counting_in(conn, windows))


async def _version_rows(
    person_ids: Sequence[str],
    events: Mapping[str, list[Event]],
    rules: Rules,
    pace: Pace,
    chosen: Mapping[str, Collection[date]] | None = None,
) -> list[dict[str, Any]]:
    """The version rows of these people's releases (only those dated as `chosen` says, when
    given), a release at a time between the event loop's other work."""
    rows: list[dict[str, Any]] = []
    for person_id in person_ids:
        whole = Timeline(events.get(person_id, []), date.max)
        for release in whole.releases():
            if chosen is None or release.on in chosen[person_id]:
                found = release_versions(whole, release, rules)
                rows += [version_row(person_id, version) for version in found]
                await pace.step()
        await pace.step()
    return rows


async def refresh_out_of_date(db: Database, rules: Rules) -> int:
    """Re-derive the people whose stored versions keep no record (see
    `release_store.without_records`), a few hundred to a transaction; how many there were."""
    async with db.read() as conn:
        people = await release_store.without_records(conn)
    for start in range(0, len(people), FETCH_PEOPLE):
        async with db.write() as conn:
            await refresh(conn, people[start : start + FETCH_PEOPLE], rules)
    return len(people)
