"""Posting events: validation, idempotency, identity, corrections, and re-derivation.

A post (one event or a batch) is handled set-wise: lock the event ids it names, load what is
stored about the post in a few queries, decide every item in memory, lock the people it touches,
claim the identifiers of the new people it makes (deciding again if another writer stored one
first), then write everything in a few statements and re-derive each affected person once. Every
refusal is decided before anything is written, so a refused event leaves no trace but its audit
line.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.db import Connection, locks, people
from app.db import events as event_store
from app.domain.events import Event
from app.domain.rules import Rules
from app.schemas.events import EventCreate
from app.services import audit, clock, derivation
from app.services.errors import Conflict, ServiceError
from app.services.keys import Principal
from app.services.submissions import Submission, content_hash
from app.services.turns import in_turns

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
# Items decided between two turns of the event loop (see app/services/turns.py).
DECIDE_TURN = 50


@dataclass
class ItemResult:
    index: int
    event_id: str | None
    status: str
    person_id: str | None = None
    problem: ServiceError | None = None


@dataclass
class Outcome:
    results: list[ItemResult]
    stored: bool = True

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


@dataclass
class _Known:
    """An event of the caller's organisation: stored already, or accepted earlier in this post."""

    type: str
    content_hash: str
    person_id: str
    root: str
    stored: bool


@dataclass
class _Plan:
    org: str
    known: dict[str, _Known]
    corrector_of: dict[str, str]
    owners: dict[tuple[str, str], str]
    results: list[ItemResult] = field(default_factory=list)
    new_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_people: list[str] = field(default_factory=list)
    new_set: set[str] = field(default_factory=set)
    new_identifiers: dict[tuple[str, str], str] = field(default_factory=dict)
    supersede: dict[str, str] = field(default_factory=dict)
    moves: dict[str, str] = field(default_factory=dict)
    affected: set[str] = field(default_factory=set)
    existing_touched: set[str] = field(default_factory=set)


async def _load(conn: Connection, org: str, events: Sequence[EventCreate]) -> _Plan:
    ids = {e.event_id for e in events} | {e.corrects for e in events if e.corrects}
    stored = await event_store.find(conn, org, ids)
    known = {
        row.event_id: _Known(row.type, row.content_hash, row.person_id, row.root_event_id, True)
        for row in stored
    }
    corrector_of = {row.corrects: row.event_id for row in stored if row.corrects}
    wanted = {key for e in events for key in e.person.known.items()}
    owners = await people.owners(conn, wanted)
    return _Plan(org, known, corrector_of, owners)


def _refuse(plan: _Plan, item: Submission, problem: ServiceError) -> None:
    plan.results.append(ItemResult(item.index, item.event_id, REJECTED, problem=problem))


def _correction_problem(plan: _Plan, event: EventCreate) -> ServiceError | None:
    target = event.corrects
    if target is not None:
        if target in plan.corrector_of:
            return Conflict(
                f"event {target!r} has already been corrected by "
                f"{plan.corrector_of[target]!r}; correct that correction instead",
                slug="already-corrected",
            )
        if target in plan.known and plan.known[target].type != event.type:
            return Conflict(
                f"event {target!r} is a {plan.known[target].type}; a correction must be of the "
                "same type",
                slug="correction-type-mismatch",
            )
    corrector = plan.corrector_of.get(event.event_id)
    if corrector in plan.known and plan.known[corrector].type != event.type:
        return Conflict(
            f"this event is corrected by {corrector!r}, a {plan.known[corrector].type}; "
            "a correction must be of the same type",
            slug="correction-type-mismatch",
        )
    return None


def _resolve_person(plan: _Plan, event: EventCreate) -> str | ServiceError:
    keys = list(event.person.known.items())
    named = {plan.owners[k] for k in keys if k in plan.owners}
    if len(named) > 1:
        return Conflict(
            "the identifiers of this event belong to different people", slug="identity-conflict"
        )
    if named:
        person_id = named.pop()
        if person_id not in plan.new_set:
            plan.existing_touched.add(person_id)
    else:
        person_id = str(uuid.uuid4())
        plan.new_people.append(person_id)
        plan.new_set.add(person_id)
    for key in keys:
        if key not in plan.owners:
            plan.owners[key] = person_id
            plan.new_identifiers[key] = person_id
    return person_id


def _decide(plan: _Plan, item: Submission, event: EventCreate, received: Any) -> None:
    digest = content_hash(event)
    seen = plan.known.get(event.event_id)
    if seen is not None:
        if seen.content_hash == digest:
            plan.results.append(
                ItemResult(item.index, item.event_id, DUPLICATE, person_id=seen.person_id)
            )
        else:
            conflict = Conflict(
                f"event {event.event_id!r} was posted before with different content",
                slug="event-id-conflict",
            )
            _refuse(plan, item, conflict)
        return
    problem = _correction_problem(plan, event)
    person = problem or _resolve_person(plan, event)
    if isinstance(person, ServiceError):
        _refuse(plan, item, person)
        return
    _accept(plan, event, digest, person, received)
    plan.results.append(ItemResult(item.index, item.event_id, ACCEPTED, person_id=person))


def _accept(plan: _Plan, event: EventCreate, digest: str, person_id: str, received: Any) -> None:
    target, own = event.corrects, event.event_id
    root = own
    if target is not None:
        root = plan.known[target].root if target in plan.known else target
        plan.corrector_of[target] = own
        if target in plan.known:
            _supersede(plan, target, own)
    corrector = plan.corrector_of.get(own)
    if corrector is not None and corrector != own:
        # A late arrival: its correction came first. Its chain now starts where it does.
        _move_lineage(plan, own, root)
    plan.known[own] = _Known(event.type, digest, person_id, root, False)
    plan.new_rows[own] = {
        "org": plan.org,
        "event_id": own,
        "root_event_id": root,
        "person_id": person_id,
        "type": event.type,
        "occurred_on": event.occurred_on,
        "person": event.person.known,
        "data": event.data.model_dump(mode="json"),
        "corrects": target,
        "content_hash": digest,
        "received_at": received,
        "superseded_by": corrector if corrector != own else None,
    }
    plan.affected.add(person_id)


def _supersede(plan: _Plan, target: str, by: str) -> None:
    old = plan.known[target]
    plan.affected.add(old.person_id)
    if old.stored:
        plan.supersede[target] = by
        plan.existing_touched.add(old.person_id)
    else:
        plan.new_rows[target]["superseded_by"] = by


def _move_lineage(plan: _Plan, old_root: str, new_root: str) -> None:
    if old_root == new_root:
        return
    plan.moves[old_root] = new_root
    for key, known in plan.known.items():
        if known.root == old_root:
            known.root = new_root
            if key in plan.new_rows:
                plan.new_rows[key]["root_event_id"] = new_root
            plan.affected.add(known.person_id)


async def _write(conn: Connection, plan: _Plan, rules: Rules) -> None:
    await event_store.insert_many(conn, list(plan.new_rows.values()))
    await event_store.mark_superseded(conn, plan.org, plan.supersede)
    await event_store.move_lineage(conn, plan.org, plan.moves)
    await derivation.refresh(conn, plan.affected, rules, _events_of_new_people(plan))


def _events_of_new_people(plan: _Plan) -> dict[str, list[Event]]:
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


def _not_stored(outcome: list[ItemResult]) -> list[ItemResult]:
    """Results of an atomic post that was refused: nothing of it is stored."""
    aborted = Conflict(
        "not stored: another event of this atomic batch was refused", slug="batch-not-stored"
    )
    return [
        r if r.status != ACCEPTED else ItemResult(r.index, r.event_id, REJECTED, problem=aborted)
        for r in outcome
    ]


async def _planned(
    conn: Connection,
    org: str,
    items: Sequence[Submission],
    events: Sequence[EventCreate],
    received: Any,
) -> _Plan:
    """What is stored about the post, and every item decided against it."""
    plan = await _load(conn, org, events)
    async for chunk in in_turns(items, DECIDE_TURN):
        for item in chunk:
            if item.event is None:
                assert item.problem is not None
                _refuse(plan, item, item.problem)
            else:
                _decide(plan, item, item.event, received)
    return plan


async def ingest(
    conn: Connection,
    principal: Principal,
    items: Sequence[Submission],
    *,
    atomic: bool,
    rules: Rules,
) -> Outcome:
    """Store the acceptable events of a post (all or none of them when `atomic`)."""
    outcome, received = await _store(conn, principal.org, items, atomic=atomic, rules=rules)
    await audit.record_each(conn, [_audit_entry(principal, outcome, received)])
    return outcome


async def ingest_each(
    conn: Connection, posts: Sequence[tuple[Principal, Submission]], rules: Rules
) -> list[Outcome]:
    """Store several one-event posts of one organisation in one transaction.

    Each is decided as if it had been posted alone, in the order given (a later post of the same
    event is its duplicate), and each gets its own outcome and its own audit row.
    """
    org = posts[0][0].org
    assert all(who.org == org for who, _ in posts), "one organisation's posts only"
    items = [replace(item, index=index) for index, (_, item) in enumerate(posts)]
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
    # Decided again only when another writer stored one of the identifiers this post would
    # have given a new person. Each round sees more of them stored, so it ends within one round
    # per such identifier.
    while True:
        plan = await _planned(conn, org, items, events, at)
        outcome = Outcome(sorted(plan.results, key=lambda r: r.index))
        if atomic and outcome.count(REJECTED):
            return Outcome(_not_stored(outcome.results), stored=False), at
        moved = await event_store.people_of_chains(conn, org, plan.moves)
        plan.affected |= moved
        touched = plan.existing_touched | moved
        if await people.claim(conn, touched, plan.new_people, plan.new_identifiers, at):
            await _write(conn, plan, rules)
            return outcome, at


def _audit_entry(principal: Principal, outcome: Outcome, at: datetime) -> audit.Entry:
    detail: dict[str, list[Any]] = {
        status: [r.event_id for r in outcome.results if r.status == status]
        for status in (ACCEPTED, DUPLICATE)
    }
    detail["refused"] = [
        {"index": r.index, "event_id": r.event_id, "problem": r.problem.slug}
        for r in outcome.results
        if r.problem is not None
    ]
    # The people posted about, so that a person's audit trail finds the posts too.
    detail["person_ids"] = list({r.person_id: 0 for r in outcome.results if r.person_id})
    return audit.Entry(
        principal,
        audit.POST_EVENTS,
        subject_type=audit.EVENTS,
        outcome="stored" if outcome.stored else "refused",
        details=detail,
        at=at,
    )
