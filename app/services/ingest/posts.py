"""Storing a post: lock the event ids it names, decide it (app/services/ingest/decisions.py),
lock and claim the people it touches (deciding again if another writer changed them first),
then write everything in a few statements, re-derive each affected person once, and audit it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from app.db import Connection, locks, people
from app.db import events as event_store
from app.domain import identity as ids
from app.domain.events import Event
from app.domain.horizons import Edit
from app.domain.rules import Rules
from app.schemas.events import EventCreate
from app.services import audit, clock, derivation, identity
from app.services.errors import Conflict, ServiceError
from app.services.ingest.decisions import Plan, planned
from app.services.ingest.outcomes import (
    ACCEPTED,
    DRY_RUN,
    DUPLICATE,
    REJECTED,
    Outcome,
    after_parting,
    not_stored,
)
from app.services.ingest.submissions import Submission
from app.services.principal import Principal


async def ingest(
    conn: Connection,
    principal: Principal,
    items: Sequence[Submission],
    *,
    atomic: bool,
    rules: Rules,
) -> Outcome:
    """Store the acceptable events of a post (all or none of them when `atomic`)."""
    items = [_permitted(principal, item) for item in items]
    outcome, received = await _store(conn, principal.org, items, atomic=atomic, rules=rules)
    await audit.record_each(conn, [_audit_entry(principal, outcome, received)])
    return outcome


def _permitted(principal: Principal, item: Submission) -> Submission:
    """The item, refused when its key may not post its type (CONTRACT §2.1)."""
    if item.event is None:
        return item
    refused = principal.may_write(item.event.type)
    return item if refused is None else replace(item, event=None, problem=refused)


async def ingest_each(
    conn: Connection, posts: Sequence[tuple[Principal, Submission]], rules: Rules
) -> list[Outcome]:
    """Store several one-event posts of one organisation in one transaction.

    Each is decided as if it had been posted alone, in the order given (a later post of the same
    event is its duplicate), and each gets its own outcome and its own audit row.
    """
    org = posts[0][0].org
    assert all(who.org == org for who, _ in posts), "one organisation's posts only"
    items = [replace(_permitted(who, item), index=i) for i, (who, item) in enumerate(posts)]
    together, received = await _store(conn, org, items, atomic=False, rules=rules)
    outcomes = [
        Outcome([replace(result, index=0)], stored=result.status != REJECTED)
        for result in together.results
    ]
    entries = [
        _audit_entry(who, outcome, received)
        for (who, _), outcome in zip(posts, outcomes, strict=True)
    ]
    await audit.record_each(conn, entries)
    return outcomes


async def _store(
    conn: Connection,
    org: str,
    items: Sequence[Submission],
    *,
    atomic: bool,
    rules: Rules,
) -> tuple[Outcome, datetime]:
    """Lock, decide and write a post's events; the outcome, and when they were received."""
    events = [item.event for item in items if item.event is not None]
    named = [e.event_id for e in events] + [e.corrects for e in events if e.corrects]
    await locks.lock_events(conn, org, named)
    at = clock.now()
    # Decided again only when another writer changed the identities the post was decided on
    # between reading them and locking their people: stored an identifier this post would have
    # given a person, or gave, released or moved one of its people's (app.db.people.claim).
    while True:
        plan = await _decided(conn, org, items, events, at, rules.max_events_per_person)
        results = sorted(plan.results, key=lambda r: r.index)
        if atomic and any(r.status == REJECTED for r in results):
            return Outcome(not_stored(results, plan.new_set), stored=False), at
        moved = await event_store.people_of_chains(conn, org, plan.moves)
        plan.affected |= moved
        touched = plan.existing_touched | moved
        changes = plan.ledger.changes()
        seen = plan.ledger.seen
        if await people.claim(conn, touched, plan.new_people, plan.asked, seen, changes, at):
            parting = await _write(conn, plan, changes, rules, at)
            return Outcome(after_parting(results, org, parting)), at


async def _decided(
    conn: Connection,
    org: str,
    items: Sequence[Submission],
    events: Sequence[EventCreate],
    at: datetime,
    most: int,
) -> Plan:
    """Every item decided, those that would take their person past `most` counting events
    refused."""
    while True:
        plan = await planned(conn, org, items, events, at)
        full = await _past_the_bound(conn, plan, most)
        if not full:
            return plan
        # Decided again with those items refused, as if they had not been posted.
        items = [
            replace(i, event=None, problem=full[i.index]) if i.index in full else i for i in items
        ]


async def rehearse(
    conn: Connection,
    principal: Principal,
    items: Sequence[Submission],
    *,
    atomic: bool,
    rules: Rules,
) -> Outcome:
    """What `ingest` would answer, stored nowhere (a dry run): each item decided as a post
    would be, its identifiers resolved to the stored person they name (None for a person the
    post would make). Audited like a post, since it tells about identities as much."""
    at = clock.now()
    events = [item.event for item in items if item.event is not None]
    plan = await _decided(conn, principal.org, items, events, at, rules.max_events_per_person)
    new = plan.new_set
    results = [
        replace(
            r,
            person_id=None if r.person_id in new else r.person_id,
            people=tuple(p for p in r.people if p not in new),
        )
        for r in sorted(plan.results, key=lambda r: r.index)
    ]
    if atomic and any(r.status == REJECTED for r in results):
        results = not_stored(results, new)
    outcome = Outcome(results, stored=False)
    await audit.record_each(conn, [_audit_entry(principal, outcome, at, DRY_RUN)])
    return outcome


async def _past_the_bound(conn: Connection, plan: Plan, most: int) -> dict[int, ServiceError]:
    """The accepted items that would take their person past `most` counting events, by index,
    each with its problem: the last ones of the post about that person."""
    gained: dict[str, list[int]] = {}
    for result in plan.results:
        row = plan.new_rows.get(result.event_id or "") if result.status == ACCEPTED else None
        if row is not None and row["superseded_by"] is None and result.person_id is not None:
            gained.setdefault(result.person_id, []).append(result.index)
    lost: dict[str, int] = {}
    for target in plan.supersede:
        lost[plan.known[target].person_id] = lost.get(plan.known[target].person_id, 0) + 1
    stored = await event_store.counts(conn, [p for p in gained if p not in plan.new_set])
    refused: dict[int, ServiceError] = {}
    for person_id, indexes in gained.items():
        excess = stored.get(person_id, 0) + len(indexes) - lost.get(person_id, 0) - most
        for index in sorted(indexes)[max(len(indexes) - excess, 0) :] if excess > 0 else ():
            refused[index] = Conflict(
                f"this person's history already holds {most:,} counting events, the most "
                "JOINUP_MAX_EVENTS_PER_PERSON allows; correct or retract some of them first",
                slug="person-history-full",
            )
    return refused


def _audit_entry(
    principal: Principal, outcome: Outcome, at: datetime, dry_run: str | None = None
) -> audit.Entry:
    detail: dict[str, list[Any]] = {
        status: [r.event_id for r in outcome.results if r.status == status]
        for status in (ACCEPTED, DUPLICATE)
    }
    detail["refused"] = [
        {"index": r.index, "event_id": r.event_id, "problem": r.problem.slug}
        for r in outcome.results
        if r.problem is not None
    ]
    # The people posted about, so that a person's audit trail finds the posts too; and those a
    # refused identity conflict named, or an atomic batch that was not stored would have been
    # about: an attempt to learn about them (CONTRACT §3.1).
    detail["person_ids"] = list({p: 0 for r in outcome.results for p in r.people})
    return audit.Entry(
        principal,
        audit.POST_EVENTS,
        subject_type=audit.EVENTS,
        outcome=dry_run or ("stored" if outcome.stored else "refused"),
        details=detail,
        at=at,
    )


async def _write(
    conn: Connection, plan: Plan, changes: ids.Changes, rules: Rules, at: datetime
) -> identity.Parting:
    """Store the plan's events and identifiers, split the people it leaves in parts, and
    re-derive everyone affected; the events that moved to a new person."""
    await event_store.insert_many(conn, list(plan.new_rows.values()))
    await event_store.mark_superseded(conn, plan.org, plan.supersede)
    await event_store.move_lineage(conn, plan.org, plan.moves)
    await people.settle(conn, changes, plan.ledger.seen)
    parted = identity.candidates(plan.ledger, plan.lost)
    parting = await identity.part(conn, parted, at)
    given = _events_of_new_people(plan)
    for person_id in parted:
        # Its events may have moved: they are read back.
        given.pop(person_id, None)
    affected = plan.affected | set(parting.people)
    edits = await _edits(conn, plan)
    if plan.moves:
        # A chain that starts elsewhere renames its release: derived whole, as is rare.
        edits.clear()
    if parting.people:
        for person_id in parted:
            edits.pop(person_id, None)
    await derivation.refresh(conn, affected, rules, given, edits)
    return parting


async def _edits(conn: Connection, plan: Plan) -> dict[str, list[Edit]]:
    """By person, the events this post makes count or stop counting."""
    edits: dict[str, list[Edit]] = {}
    for row in plan.new_rows.values():
        if row["superseded_by"] is None:
            edit = derivation.edit_of(row["type"], row["occurred_on"], row["data"])
            edits.setdefault(row["person_id"], []).append(edit)
    for stopped in await event_store.described(conn, plan.org, plan.supersede.keys()):
        edit = derivation.edit_of(stopped.type, stopped.occurred_on, stopped.data)
        edits.setdefault(stopped.person_id, []).append(edit)
    return edits


def _events_of_new_people(plan: Plan) -> dict[str, list[Event]]:
    """The counting events of the people this post makes, every one of which is in the post:
    derived from these, their records need no read of what was just written.

    `seq` is the event's place in the post: the rules use it only to order events of one date
    by arrival, and the post's events are stored, and numbered, in this order.
    """
    events: dict[str, list[Event]] = {p: [] for p in plan.new_people}
    for seq, row in enumerate(plan.new_rows.values()):
        person_id = row["person_id"]
        if person_id in events and row["superseded_by"] is None:
            event = derivation.event_of(
                seq, plan.org, row["root_event_id"], row["type"], row["occurred_on"], row["data"]
            )
            events[person_id].append(event)
    return events
