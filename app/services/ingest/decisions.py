"""Deciding a post in memory: what is stored about it is read once (`load`), then every item is
decided against it in order (`decide`), as if posted alone after the ones before it. Nothing is
written here; `planned` gives the plan that app/services/ingest/posts.py writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.db import Connection
from app.db import events as event_store
from app.domain import identity as ids
from app.schemas.events import EventCreate
from app.services import identity
from app.services.errors import Conflict, ServiceError
from app.services.event_conflicts import content_of, differing, event_id_conflict
from app.services.ingest.outcomes import (
    ACCEPTED,
    DUPLICATE,
    IDENTITY_CONFLICT,
    REJECTED,
    ItemResult,
)
from app.services.ingest.submissions import Submission, content_hash
from app.tuning import DECIDE_TURN
from app.tuning.turns import in_turns


@dataclass
class Known:
    """An event of the caller's organisation: stored already, or accepted earlier in this post."""

    type: str
    content_hash: str
    person_id: str
    root: str
    stored: bool
    keys: list[ids.Key]
    counting: bool


@dataclass
class Plan:
    org: str
    known: dict[str, Known]
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
    # Items refused as event-id-conflict: where in `results`, and the event posted.
    id_conflicts: list[tuple[int, EventCreate]] = field(default_factory=list)


async def load(conn: Connection, org: str, events: Sequence[EventCreate]) -> Plan:
    named = {e.event_id for e in events} | {e.corrects for e in events if e.corrects}
    stored = await event_store.find(conn, org, named)
    known = {
        row.event_id: Known(
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
    return Plan(org, known, corrector_of, asked, ledger)


def refuse(plan: Plan, item: Submission, problem: ServiceError) -> None:
    plan.results.append(ItemResult(item.index, item.event_id, REJECTED, problem=problem))


def _correction_problem(plan: Plan, event: EventCreate) -> ServiceError | None:
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


def _resolve_person(plan: Plan, event: EventCreate) -> str | ids.Conflict:
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


def decide(plan: Plan, item: Submission, event: EventCreate, received: Any) -> None:
    digest = content_hash(event)
    seen = plan.known.get(event.event_id)
    if seen is not None:
        if seen.content_hash == digest:
            result = ItemResult(
                item.index, item.event_id, DUPLICATE, seen.person_id, people=(seen.person_id,)
            )
            plan.results.append(result)
        else:
            # Which fields differ is said once every item is decided (`_explain_id_conflicts`).
            plan.id_conflicts.append((len(plan.results), event))
            refuse(plan, item, event_id_conflict(event.event_id, []))
        return
    problem = _correction_problem(plan, event)
    if problem is not None:
        refuse(plan, item, problem)
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


def _accept(plan: Plan, event: EventCreate, digest: str, person_id: str, received: Any) -> None:
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
    plan.known[own] = Known(event.type, digest, person_id, root, False, keys, counting)
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


def _supersede(plan: Plan, target: str, by: str) -> None:
    old = plan.known[target]
    plan.affected.add(old.person_id)
    if old.stored:
        plan.supersede[target] = by
        plan.existing_touched.add(old.person_id)
    else:
        plan.new_rows[target]["superseded_by"] = by


def _move_lineage(plan: Plan, old_root: str, new_root: str) -> None:
    if old_root == new_root:
        return
    plan.moves[old_root] = new_root
    for key, known in plan.known.items():
        if known.root == old_root:
            known.root = new_root
            if key in plan.new_rows:
                plan.new_rows[key]["root_event_id"] = new_root
            plan.affected.add(known.person_id)


async def planned(
    conn: Connection,
    org: str,
    items: Sequence[Submission],
    events: Sequence[EventCreate],
    received: Any,
) -> Plan:
    """What is stored about the post, and every item decided against it."""
    plan = await load(conn, org, events)
    async for chunk in in_turns(items, DECIDE_TURN):
        for item in chunk:
            if item.event is None:
                assert item.problem is not None
                refuse(plan, item, item.problem)
            else:
                decide(plan, item, item.event, received)
    await _explain_id_conflicts(conn, plan)
    return plan


async def _explain_id_conflicts(conn: Connection, plan: Plan) -> None:
    """Name, in each event-id-conflict, the fields in which the event differs from the one
    first posted under its id (stored, or earlier in this post). Rare: read one by one."""
    for at, event in plan.id_conflicts:
        first: Any = plan.new_rows.get(event.event_id)
        if first is None:
            first = await event_store.get(conn, plan.org, event.event_id)
        posted = {
            **content_of(event),
            "person": event.person.known,
            "data": event.data.model_dump(mode="json"),
        }
        problem = event_id_conflict(event.event_id, differing(posted, content_of(first)))
        plan.results[at] = replace(plan.results[at], problem=problem)
