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
from app.domain import identity as ids
from app.domain.events import Event
from app.domain.horizons import Edit
from app.domain.rules import Rules
from app.schemas.events import EventCreate
from app.services import audit, clock, derivation, identity
from app.services.errors import Conflict, ServiceError
from app.services.principal import Principal
from app.services.submissions import Submission, content_hash
from app.tuning import DECIDE_TURN
from app.tuning.turns import in_turns

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
IDENTITY_CONFLICT = "identity-conflict"


@dataclass
class ItemResult:
    index: int
    event_id: str | None
    status: str
    person_id: str | None = None
    problem: ServiceError | None = None
    # The stored people the item is about, for the audit: those it was (or would have been)
    # posted about, or those a refused identity conflict names.
    people: tuple[str, ...] = ()


@dataclass
class Outcome:
    results: list[ItemResult]
    stored: bool = True

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def identity_conflicts(self) -> int:
        """Items refused because their identifiers cannot be one person."""
        return sum(1 for r in self.results if r.problem and r.problem.slug == IDENTITY_CONFLICT)


@dataclass
class _Known:
    """An event of the caller's organisation: stored already, or accepted earlier in this post."""

    type: str
    content_hash: str
    person_id: str
    root: str
    stored: bool
    keys: list[ids.Key]
    counting: bool


@dataclass
class _Plan:
    org: str
    known: dict[str, _Known]
    corrector_of: dict[str, str]
    # The identifiers the post names (and those of the stored events it corrects), and what is
    # stored of the people who hold them, as the post leaves it.
    asked: set[ids.Key]
    ledger: ids.Ledger
    results: list[ItemResult] = field(default_factory=list)
    new_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_people: list[str] = field(default_factory=list)
    new_set: set[str] = field(default_factory=set)
    supersede: dict[str, str] = field(default_factory=dict)
    moves: dict[str, str] = field(default_factory=dict)
    affected: set[str] = field(default_factory=set)
    existing_touched: set[str] = field(default_factory=set)
    # People whose counting events this post makes stop counting: the identifiers those carried.
    lost: dict[str, list[ids.Key]] = field(default_factory=dict)


async def _load(conn: Connection, org: str, events: Sequence[EventCreate]) -> _Plan:
    named = {e.event_id for e in events} | {e.corrects for e in events if e.corrects}
    stored = await event_store.find(conn, org, named)
    known = {
        row.event_id: _Known(
            row.type,
            row.content_hash,
            row.person_id,
            row.root_event_id,
            True,
            ids.keys_of(row.person),
            row.superseded_by is None and row.retracted_at is None,
        )
        for row in stored
    }
    corrector_of = {row.corrects: row.event_id for row in stored if row.corrects}
    targets = {e.corrects for e in events if e.corrects in known}
    asked = {key for e in events for key in e.person.known.items()}
    asked |= {key for target in targets for key in known[target].keys}
    ledger = await identity.ledger_of(conn, asked)
    return _Plan(org, known, corrector_of, asked, ledger)


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


def _resolve_person(plan: _Plan, event: EventCreate) -> str | ids.Conflict:
    """The person the event is about, its identifiers given to them if it counts; a correction
    takes its target's identifiers away first (given back if the correction is refused).

    A correction that names nobody but by identifiers only its target carried stays with the
    target's person. An event that arrives already corrected counts nowhere and gives nobody
    an identifier: it goes to the person it names, else to its correction's.
    """
    keys = ids.keys_of(event.person.known)
    target = plan.known.get(event.corrects) if event.corrects else None
    taken = target is not None and target.counting
    if target is not None and taken:
        plan.ledger.detach(target.person_id, target.keys)
    person = plan.ledger.resolve(keys)
    if isinstance(person, ids.Conflict):
        if target is not None and taken:
            plan.ledger.attach(target.person_id, target.keys)
        return person
    corrector = plan.corrector_of.get(event.event_id)
    counting = corrector is None or corrector == event.event_id
    if person is None and target is not None and taken:
        released = [key for key in target.keys if key not in plan.ledger.owner]
        if any(key in released for key in keys):
            person = target.person_id
    if person is None and not counting:
        person = plan.known[corrector].person_id if corrector in plan.known else None
    if person is None:
        person = str(uuid.uuid4())
        plan.new_people.append(person)
        plan.new_set.add(person)
    elif person not in plan.new_set:
        plan.existing_touched.add(person)
    if counting:
        plan.ledger.attach(person, keys)
    if target is not None and taken:
        target.counting = False
        plan.lost.setdefault(target.person_id, []).extend(target.keys)
    return person


def _decide(plan: _Plan, item: Submission, event: EventCreate, received: Any) -> None:
    digest = content_hash(event)
    seen = plan.known.get(event.event_id)
    if seen is not None:
        if seen.content_hash == digest:
            result = ItemResult(
                item.index, item.event_id, DUPLICATE, seen.person_id, people=(seen.person_id,)
            )
            plan.results.append(result)
        else:
            conflict = Conflict(
                f"event {event.event_id!r} was posted before with different content",
                slug="event-id-conflict",
            )
            _refuse(plan, item, conflict)
        return
    problem = _correction_problem(plan, event)
    if problem is not None:
        _refuse(plan, item, problem)
        return
    person = _resolve_person(plan, event)
    if isinstance(person, ids.Conflict):
        refused = Conflict(person.detail, slug=IDENTITY_CONFLICT)
        people_named = tuple(sorted(person.people))
        plan.results.append(
            ItemResult(item.index, item.event_id, REJECTED, problem=refused, people=people_named)
        )
        return
    _accept(plan, event, digest, person, received)
    result = ItemResult(item.index, item.event_id, ACCEPTED, person, people=(person,))
    plan.results.append(result)


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
    counting = corrector is None or corrector == own
    keys = ids.keys_of(event.person.known)
    plan.known[own] = _Known(event.type, digest, person_id, root, False, keys, counting)
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


async def _write(
    conn: Connection, plan: _Plan, changes: ids.Changes, rules: Rules, at: datetime
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


async def _edits(conn: Connection, plan: _Plan) -> dict[str, list[Edit]]:
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


def _not_stored(outcome: list[ItemResult], new_people: set[str]) -> list[ItemResult]:
    """Results of an atomic post that was refused: nothing of it is stored. Each item still
    names, for the audit, the stored people it would have been posted about."""
    aborted = Conflict(
        "not stored: another event of this atomic batch was refused", slug="batch-not-stored"
    )
    return [
        r
        if r.status != ACCEPTED
        else ItemResult(
            r.index,
            r.event_id,
            REJECTED,
            problem=aborted,
            people=tuple(p for p in r.people if p not in new_people),
        )
        for r in outcome
    ]


def _moved(results: list[ItemResult], org: str, parting: identity.Parting) -> list[ItemResult]:
    """The results, each accepted event's person the one it ended with after a split."""
    ended = {e: person_id for (o, e), person_id in parting.moved.items() if o == org}
    return [
        replace(r, person_id=ended[r.event_id], people=(ended[r.event_id],))
        if r.status == ACCEPTED and r.event_id in ended
        else r
        for r in results
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
    items = [_permitted(principal, item) for item in items]
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


def _permitted(principal: Principal, item: Submission) -> Submission:
    """The item, refused when its key may not post its type (CONTRACT §2.1)."""
    if item.event is None:
        return item
    refused = principal.may_write(item.event.type)
    return item if refused is None else replace(item, event=None, problem=refused)


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
        plan = await _planned(conn, org, items, events, at)
        full = await _past_the_bound(conn, plan, rules.max_events_per_person)
        if full:
            # Decided again with those items refused, as if they had not been posted.
            items = [
                replace(i, event=None, problem=full[i.index]) if i.index in full else i
                for i in items
            ]
            continue
        results = sorted(plan.results, key=lambda r: r.index)
        if atomic and any(r.status == REJECTED for r in results):
            return Outcome(_not_stored(results, plan.new_set), stored=False), at
        moved = await event_store.people_of_chains(conn, org, plan.moves)
        plan.affected |= moved
        touched = plan.existing_touched | moved
        changes = plan.ledger.changes()
        seen = plan.ledger.seen
        if await people.claim(conn, touched, plan.new_people, plan.asked, seen, changes, at):
            parting = await _write(conn, plan, changes, rules, at)
            return Outcome(_moved(results, org, parting)), at


async def _past_the_bound(conn: Connection, plan: _Plan, most: int) -> dict[int, ServiceError]:
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
    # The people posted about, so that a person's audit trail finds the posts too; and those a
    # refused identity conflict named, or an atomic batch that was not stored would have been
    # about: an attempt to learn about them (CONTRACT §3.1).
    detail["person_ids"] = list({p: 0 for r in outcome.results for p in r.people})
    return audit.Entry(
        principal,
        audit.POST_EVENTS,
        subject_type=audit.EVENTS,
        outcome="stored" if outcome.stored else "refused",
        details=detail,
        at=at,
    )
