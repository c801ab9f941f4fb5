"""Who an event is about (CONTRACT §3.1): identifiers, the people they name, and when an
identifier is released.

An identifier (scheme, value) is held by at most one person, and only while some counting event
of that person carries it; a person holds at most one value of each scheme. A `Ledger` is what a
post knows of the identifiers it meets: who holds each, and how many counting events carry it.
Events that start counting `attach` their identifiers, events that stop counting `detach` them,
and an identifier whose last carrier stops counting is released. `parts` splits a person whose
counting events no longer share identifiers into the groups that do.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

Key = tuple[str, str]
"""An identifier: (scheme, normalised value)."""


@dataclass(frozen=True)
class Held:
    """An identifier's holder, and the number of that person's counting events that carry it."""

    person_id: str
    carriers: int


@dataclass(frozen=True)
class Conflict:
    """Why an event's identifiers cannot be one person, and the people they would join."""

    detail: str
    people: frozenset[str]


def keys_of(identifiers: Mapping[str, str]) -> list[Key]:
    """An event's identifiers ({scheme: value}) as keys."""
    return list(identifiers.items())


@dataclass
class Ledger:
    """The identifiers a post has met, as it would leave them: each with its holder and carriers.

    Built from what is stored (`seen`); every change is reversible (`attach` undoes `detach`), and
    `changes` says what to write. Identifiers not in the ledger are held by nobody, as far as the
    post knows.
    """

    seen: Mapping[Key, Held]
    owner: dict[Key, str] = field(init=False)
    carriers: dict[Key, int] = field(init=False)
    schemes: dict[str, dict[str, set[str]]] = field(init=False)

    def __post_init__(self) -> None:
        self.owner = {key: held.person_id for key, held in self.seen.items()}
        self.carriers = {key: held.carriers for key, held in self.seen.items()}
        self.schemes = {}
        for (scheme, value), person_id in self.owner.items():
            self.schemes.setdefault(person_id, {}).setdefault(scheme, set()).add(value)

    def resolve(self, keys: Iterable[Key]) -> str | Conflict | None:
        """The one person these identifiers name (None: nobody yet), or why they cannot be one.

        They cannot when they name two people, or when they would give the person they name a
        second value of a scheme (a value the person already holds is no second one, so a person
        stored before this rule with two values of a scheme keeps both).
        """
        keys = list(keys)
        named = {self.owner[key] for key in keys if key in self.owner}
        if len(named) > 1:
            return Conflict(
                "the identifiers of this event belong to different people", frozenset(named)
            )
        if not named:
            return None
        person_id = named.pop()
        held = self.schemes.get(person_id, {})
        for scheme, value in keys:
            if (scheme, value) not in self.owner and held.get(scheme):
                detail = f"the person these identifiers name already has another {scheme}"
                return Conflict(detail, frozenset({person_id}))
        return person_id

    def attach(self, person_id: str, keys: Iterable[Key]) -> None:
        """A counting event of `person_id` carries `keys`: the person holds them."""
        for key in keys:
            if key not in self.owner:
                self.owner[key] = person_id
                self.carriers[key] = 0
                self.schemes.setdefault(person_id, {}).setdefault(key[0], set()).add(key[1])
            self.carriers[key] += 1

    def detach(self, person_id: str, keys: Iterable[Key]) -> None:
        """A counting event of `person_id` that carried `keys` stops counting: each key whose
        last carrier it was is released."""
        for key in keys:
            if self.owner.get(key) != person_id:
                continue
            self.carriers[key] -= 1
            if self.carriers[key] <= 0:
                del self.owner[key]
                del self.carriers[key]
                self.schemes[person_id][key[0]].discard(key[1])

    def held_by(self, person_id: str, keys: Iterable[Key]) -> list[Key]:
        """Those of `keys` that `person_id` holds now."""
        return [key for key in keys if self.owner.get(key) == person_id]

    def changes(self) -> Changes:
        """What to write so that the stored identifiers become the ledger's."""
        new = {
            key: Held(person_id, self.carriers[key])
            for key, person_id in self.owner.items()
            if key not in self.seen
        }
        updated: dict[Key, Update] = {}
        released: list[Key] = []
        for key, was in self.seen.items():
            person_id = self.owner.get(key)
            if person_id is None:
                released.append(key)
            elif person_id != was.person_id or self.carriers[key] != was.carriers:
                updated[key] = Update(person_id, self.carriers[key] - was.carriers)
        return Changes(new, updated, released)


@dataclass(frozen=True)
class Update:
    """A stored identifier's holder from now on, and the change in its carriers."""

    person_id: str
    delta: int


@dataclass(frozen=True)
class Changes:
    """New identifiers (with their carriers), stored ones whose holder or carriers change, and
    stored ones released."""

    new: Mapping[Key, Held]
    updated: Mapping[Key, Update]
    released: Collection[Key]


def may_part(lost: Iterable[Key], still_held: Collection[Key]) -> bool:
    """Whether a person who lost a counting event carrying `lost` may have come apart: only if
    two of those identifiers are still held, since the event linked nothing else."""
    return sum(1 for key in lost if key in still_held) >= 2


def parts(events: Iterable[tuple[int, Iterable[Key]]]) -> list[list[int]]:
    """The groups of a person's counting events (by seq) linked by shared identifiers, each in
    seq order, the group of the earliest event first."""
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    carried: list[tuple[int, list[Key]]] = []
    for seq, given in sorted(events, key=lambda e: e[0]):
        keys = list(given)
        assert keys, "every event carries an identifier"
        carried.append((seq, keys))
        for key in keys:
            parent.setdefault(key, key)
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
    groups: dict[Key, list[int]] = {}
    for seq, keys in carried:
        groups.setdefault(root(keys[0]), []).append(seq)
    return list(groups.values())
