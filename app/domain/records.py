"""Join-up records: one per release, derived from a person's counting events (CONTRACT §4).

Notation as in §4: r the release date, p and n the previous and next release dates of the
person (None standing for -inf and +inf), W, K and G the rule settings, D the as-of date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from app.domain.events import Event
from app.domain.gaps import gaps
from app.domain.rules import Rules
from app.domain.timeline import Release, Timeline, after
from app.domain.vocabulary import EXCLUDING_RELEASE_TYPES, TERMINATORS, EventType, FlagCode, Stage

DIED: Final = "died"
RETURNED_TO_CUSTODY: Final = "returned_to_custody"


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    raised_on: date
    resolved_on: date | None
    open: bool


@dataclass(frozen=True, slots=True)
class JoinUpRecord:
    release_id: str
    released_on: date
    prison: str
    release_type: str
    local_authority: str | None
    probation_region: str | None
    community_provider: str | None
    in_treatment_at_release: bool
    substance_group: str | None
    on_ost: bool | None
    stage: str
    excluded_reason: str | None
    pickup_due_by: date
    picked_up_on: date | None
    late_pickup_on: date | None
    retention_due_on: date | None
    retained_12w: bool | None
    flags: tuple[Flag, ...]
    as_of: date


@dataclass(frozen=True, slots=True)
class _Pickup:
    due_by: date
    picked_up_on: date | None
    late_pickup_on: date | None
    retention_due_on: date | None
    retained: bool | None


def derive(events: Iterable[Event], as_of: date, rules: Rules) -> list[JoinUpRecord]:
    """One person's records as of `as_of`, oldest release first.

    `events` are the person's counting events, in any order; the answer does not depend on
    their order, and `seq` only breaks ties between events of the same date.
    """
    return derive_timeline(Timeline(events, as_of), as_of, rules)


def derive_timeline(timeline: Timeline, as_of: date, rules: Rules) -> list[JoinUpRecord]:
    """`derive` over a timeline already cut at `as_of` (see `Timeline.until`)."""
    return [derive_release(timeline, release, as_of, rules) for release in timeline.releases()]


def derive_release(timeline: Timeline, release: Release, as_of: date, rules: Rules) -> JoinUpRecord:
    """One release's record as of `as_of`, from a timeline cut at `as_of`."""
    treatment = _treatment_at_release(timeline, release)
    pickup = _pickup(timeline, release, as_of, rules)
    excluded_reason = None if treatment is None else _excluded_reason(timeline, release, pickup)
    stage = _stage(timeline, release, treatment, excluded_reason, pickup, as_of)
    flags: tuple[Flag, ...] = ()
    if treatment is not None and excluded_reason is None:
        flags = _flags(timeline, release, treatment, pickup, as_of, rules)
    else:
        # §5, settled: pickup facts show only where they count, so sums agree with the metrics.
        pickup = _Pickup(pickup.due_by, None, None, None, None)
    return JoinUpRecord(
        release_id=release.release_id,
        released_on=release.on,
        prison=str(release.fields["prison"]),
        release_type=release.release_type,
        local_authority=release.fields["local_authority"],
        probation_region=release.fields["probation_region"],
        community_provider=release.fields["community_provider"],
        in_treatment_at_release=treatment is not None,
        substance_group=None if treatment is None else treatment.data["substance_group"],
        on_ost=None if treatment is None else bool(treatment.data.get("on_ost", False)),
        stage=stage,
        excluded_reason=excluded_reason,
        pickup_due_by=pickup.due_by,
        picked_up_on=pickup.picked_up_on,
        late_pickup_on=pickup.late_pickup_on,
        retention_due_on=pickup.retention_due_on,
        retained_12w=pickup.retained,
        flags=flags,
        as_of=as_of,
    )


def _treatment_at_release(timeline: Timeline, release: Release) -> Event | None:
    """Rule 1: the latest prison treatment started in (p, r] and not ended in [T, r)."""
    starts = timeline.of(
        EventType.PRISON_TREATMENT_STARTED, after(release.previous), after(release.on)
    )
    for start in reversed(starts):
        if not timeline.has(EventType.PRISON_TREATMENT_ENDED, start.occurred_on, release.on):
            return start
    return None


def _pickup(timeline: Timeline, release: Release, as_of: date, rules: Rules) -> _Pickup:
    """Rules 3 and 5, computed for every release so a record always shows what happened."""
    due_by = release.on + timedelta(days=rules.pickup_window_days)
    picked_up_on = timeline.first(EventType.COMMUNITY_TREATMENT_STARTED, release.on, after(due_by))
    if picked_up_on is None:
        late = timeline.first(EventType.COMMUNITY_TREATMENT_STARTED, after(due_by), release.next)
        return _Pickup(due_by, None, late, None, None if as_of <= due_by else False)
    due_on = picked_up_on + timedelta(days=rules.retention_days)
    retained = None if as_of < due_on else _in_treatment_on(timeline, release, due_on)
    return _Pickup(due_by, picked_up_on, None, due_on, retained)


def _in_treatment_on(timeline: Timeline, release: Release, day: date) -> bool:
    """Rule 4: a start S in [r, day] with no exit, death or reception in [S, day)."""
    latest = timeline.last(EventType.COMMUNITY_TREATMENT_STARTED, release.on, after(day))
    if latest is None:
        return False
    # Only the latest start need be checked: an earlier start's [S, day) contains its window.
    return not any(timeline.has(kind, latest, day) for kind in TERMINATORS)


def _excluded_reason(timeline: Timeline, release: Release, pickup: _Pickup) -> str | None:
    """Rule 2, in precedence order: release type, then death, then return to custody."""
    if release.release_type in EXCLUDING_RELEASE_TYPES:
        return release.release_type
    window_end = after(pickup.due_by)
    died_on = timeline.first(EventType.PERSON_DIED, release.on, window_end)
    if _before_pickup(died_on, pickup.picked_up_on):
        return DIED
    # A reception on the release day itself is the custody the person is leaving.
    received_on = timeline.first(EventType.PRISON_RECEPTION, after(release.on), window_end)
    if _before_pickup(received_on, pickup.picked_up_on):
        return RETURNED_TO_CUSTODY
    return None


def _before_pickup(day: date | None, picked_up_on: date | None) -> bool:
    # A pickup on the same day as the death or reception counts as picked up; checking the
    # first such day suffices, as later ones are further from an earlier pickup still.
    return day is not None and (picked_up_on is None or picked_up_on > day)


def _stage(
    timeline: Timeline,
    release: Release,
    treatment: Event | None,
    excluded_reason: str | None,
    pickup: _Pickup,
    as_of: date,
) -> str:
    """Rule 6: exactly one stage, tested in the order the contract lists them."""
    if treatment is None:
        return Stage.NOT_IN_COHORT
    if excluded_reason is not None:
        return Stage.EXCLUDED
    if pickup.retention_due_on is None:
        return Stage.AWAITING_PICKUP if as_of <= pickup.due_by else Stage.NOT_PICKED_UP
    if as_of < pickup.retention_due_on:
        return (
            Stage.IN_TREATMENT if _in_treatment_on(timeline, release, as_of) else Stage.DISENGAGED
        )
    return Stage.RETAINED_12W if pickup.retained else Stage.DISENGAGED


def _flags(
    timeline: Timeline,
    release: Release,
    treatment: Event,
    pickup: _Pickup,
    as_of: date,
    rules: Rules,
) -> tuple[Flag, ...]:
    """Rule 7, in the order of FlagCode; a record lists only the flags raised by `as_of`."""
    found = gaps(timeline, release, treatment, rules)
    if pickup.picked_up_on is None:
        # Raised the day after the window closes, so it exists only once the window has passed.
        found.append((FlagCode.NOT_PICKED_UP, after(pickup.due_by), pickup.late_pickup_on))
    return tuple(
        Flag(code, raised_on, resolved_on, resolved_on is None or resolved_on > as_of)
        for code, raised_on, resolved_on in found
        if raised_on <= as_of
    )
