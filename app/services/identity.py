"""Keeping people as their counting events make them (CONTRACT §3.1; docs/identity.md).

A person is the counting events linked by the identifiers they carry. When an event stops
counting (corrected away or retracted) it may have been the only link between two groups of the
person's events: then the person comes apart, the group of their earliest counting event keeping
the person, each other group becoming a person of its own with its events and identifiers, and
every one of them is re-derived. Checking costs nothing unless the event that stopped counting
carried two identifiers that are still held: only then are the person's events read.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from app.db import Connection, people
from app.db import events as event_store
from app.domain.identity import Key, Ledger, keys_of, may_part, parts


async def ledger_of(conn: Connection, keys: Collection[Key]) -> Ledger:
    """What is stored of the people who hold one of `keys`."""
    return Ledger(await people.identities(conn, keys))


@dataclass
class Parting:
    """Events moved to new people (by org and event id, to the person), and those people."""

    moved: dict[tuple[str, str], str] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)


def candidates(ledger: Ledger, lost: Mapping[str, Iterable[Key]]) -> list[str]:
    """The people who lost counting events (`lost`: the identifiers those carried) and may have
    come apart."""
    found = []
    for person_id, keys in lost.items():
        listed = list(keys)
        if may_part(listed, set(ledger.held_by(person_id, listed))):
            found.append(person_id)
    return sorted(found)


async def part(conn: Connection, person_ids: Collection[str], at: datetime) -> Parting:
    """Split each of these (locked) people whose counting events no longer share identifiers."""
    parting = Parting()
    if not person_ids:
        return parting
    carried: dict[str, list[tuple[int, list[Key]]]] = {p: [] for p in person_ids}
    named: dict[int, tuple[str, str]] = {}
    for row in await event_store.carrying(conn, person_ids):
        carried[row.person_id].append((row.seq, keys_of(row.person)))
        named[row.seq] = (row.org, row.event_id)
    given: dict[str, list[Key]] = {}
    moves: dict[int, str] = {}
    for events in carried.values():
        keys = dict(events)
        for group in parts(events)[1:]:
            new = str(uuid.uuid4())
            given[new] = sorted({key for seq in group for key in keys[seq]})
            moves.update((seq, new) for seq in group)
    await people.split(conn, given, at)
    await event_store.move_to(conn, moves)
    parting.moved = {named[seq]: person_id for seq, person_id in moves.items()}
    parting.people = list(given)
    return parting


async def release(
    conn: Connection, person_id: str, keys: Collection[Key], at: datetime
) -> list[str]:
    """A counting event of `person_id` (locked) that carried `keys` has stopped counting: release
    the identifiers it was the last to carry, and split the person if it was all that linked
    their events; the new people made."""
    ledger = await ledger_of(conn, keys)
    ledger.detach(person_id, keys)
    await people.settle(conn, ledger.changes(), ledger.seen)
    parting = await part(conn, candidates(ledger, {person_id: list(keys)}), at)
    return parting.people
