"""Changes: how a release's record as of one day differs from its record as of an earlier
comparison (CONTRACT §7). Pure: two snapshots in, the changes between them out, in the order a
subscriber should read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.domain.filters import DIMENSIONS
from app.domain.vocabulary import FlagCode


class ChangeType(StrEnum):
    CREATED = "record.created"
    STAGE_CHANGED = "record.stage_changed"
    FLAG_RAISED = "record.flag_raised"
    FLAG_RESOLVED = "record.flag_resolved"


CHANGE_TYPES = tuple(ChangeType)
_FLAG_ORDER: tuple[str, ...] = tuple(FlagCode)


@dataclass(frozen=True, slots=True)
class FlagState:
    code: str
    raised_on: date | None
    resolved_on: date | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What changes compare of a release's record on one as-of date."""

    release_id: str
    person_id: str
    released_on: date
    prison: str
    probation_region: str | None
    local_authority: str | None
    community_provider: str | None
    stage: str
    # Every flag the record lists, and which of them are open.
    flags: Mapping[str, FlagState]
    open_flags: frozenset[str]


@dataclass(frozen=True, slots=True)
class Change:
    type: ChangeType
    after: Snapshot
    previous_stage: str | None = None
    flag: FlagState | None = None


def diff(before: Snapshot | None, after: Snapshot | None) -> list[Change]:
    """The changes from `before` (None: the record did not exist) to `after`.

    A record that no longer exists (its release event retracted) makes no change: §7 has no
    type for it.
    """
    if after is None:
        return []
    if before is None:
        raised = [Change(ChangeType.FLAG_RAISED, after, flag=after.flags[c]) for c in _open(after)]
        return [Change(ChangeType.CREATED, after), *raised]
    changes: list[Change] = []
    if before.stage != after.stage:
        changes.append(Change(ChangeType.STAGE_CHANGED, after, previous_stage=before.stage))
    for code in _ordered(before.open_flags - after.open_flags):
        flag = after.flags.get(code) or FlagState(code, before.flags[code].raised_on, None)
        changes.append(Change(ChangeType.FLAG_RESOLVED, after, flag=flag))
    for code in _ordered(after.open_flags - before.open_flags):
        changes.append(Change(ChangeType.FLAG_RAISED, after, flag=after.flags[code]))
    return changes


def _open(snapshot: Snapshot) -> list[str]:
    return _ordered(snapshot.open_flags)


def _ordered(codes: frozenset[str]) -> list[str]:
    return sorted(codes, key=_FLAG_ORDER.index)


@dataclass(frozen=True, slots=True)
class Interest:
    """Which changes a subscription receives: its types, its filter, and every scope that
    narrows it (each a mapping of dimension to allowed values, like the filter's)."""

    types: frozenset[str]
    limits: tuple[Mapping[str, frozenset[str]], ...]
    stages: frozenset[str] | None = None
    flags: frozenset[str] | None = None

    def admits(
        self,
        type_: str,
        fields: Mapping[str, str | None],
        stage: str,
        flag: str | None,
        open_flags: frozenset[str],
    ) -> bool:
        """Whether a change (its type, release fields by name, stage after it, the flag it
        raised or resolved, and the flags open after it) is one to send.

        `flags` admits a flag change of one of those codes, and another change while one of
        those flags is open; `stages` admits a change that leaves the record in one of them.
        """
        if type_ not in self.types:
            return False
        if self.stages is not None and stage not in self.stages:
            return False
        if self.flags is not None:
            concerned = flag in self.flags if flag is not None else open_flags & self.flags
            if not concerned:
                return False
        return all(
            fields.get(DIMENSIONS[dimension]) in allowed
            for limit in self.limits
            for dimension, allowed in limit.items()
        )
