"""The history of every record of a person over as-of dates, as a few dated versions.

A store keeps these rows so that "the records as of D" is a lookup, `valid_from <= D <
valid_until`, instead of a derivation per person per question.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from operator import attrgetter
from typing import Final

from app.domain.events import Event
from app.domain.horizons import Frame, bears_on, reach
from app.domain.metrics import Tally, tally
from app.domain.records import JoinUpRecord, derive_release
from app.domain.rules import Rules
from app.domain.timeline import ONE_DAY, Release, Timeline, after
from app.domain.vocabulary import TERMINATORS, EventType


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """A release's record state on every as-of date in [valid_from, valid_until)."""

    release_id: str
    released_on: date
    prison: str
    release_type: str
    local_authority: str | None
    probation_region: str | None
    community_provider: str | None
    valid_from: date
    valid_until: date | None  # exclusive; None: for every later date
    stage: str
    open_flags: frozenset[str]
    tally: Tally
    record: JoinUpRecord  # as derived on valid_from; the same but for as_of on any later day

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day < self.valid_until)


def versions(
    events: Iterable[Event], rules: Rules, released_on: Collection[date] | None = None
) -> list[RecordVersion]:
    """Every version of every release's record (only of the releases on the dates
    `released_on`, when given), by release date then `valid_from`.

    A release's first version starts on its release date; consecutive versions of a release
    differ in some field of the record (its as-of date aside) or in its tally, and the last one
    is open-ended. `events` need hold only the horizons of the releases asked for
    (app/domain/horizons.py), each with its previous release's date.
    """
    whole = Timeline(events, date.max)
    chosen = [r for r in whole.releases() if released_on is None or r.on in released_on]
    return [version for release in chosen for version in release_versions(whole, release, rules)]


def release_versions(whole: Timeline, release: Release, rules: Rules) -> list[RecordVersion]:
    """The versions of one release's record: one derivation of it per breakpoint of its own,
    so the cost follows the events in its horizon, not the person's whole history."""
    points = release_breakpoints(whole, release, rules)
    chain: list[RecordVersion] = []
    for start, stop in zip(points, [*points[1:], None], strict=True):
        cut = whole.until(start)
        record = derive_release(cut, cut.release_on(release.on), start, rules)
        _extend(chain, _version(record, start, stop))
    return chain


def breakpoints(events: Sequence[Event], rules: Rules) -> list[date]:
    """The as-of dates on which some record of the person can change (see
    `release_breakpoints`)."""
    whole = Timeline(events, date.max)
    found = {day for r in whole.releases() for day in release_breakpoints(whole, r, rules)}
    return sorted(found)


def release_breakpoints(whole: Timeline, release: Release, rules: Rules) -> list[date]:
    """The as-of dates, from the release on, on which its record can change.

    Why the set is complete: on [b, b') between two consecutive breakpoints every derivation
    of the release gives the same stage, open flags and tally.
    1. It sees the same events of those it reads (app/domain/horizons.py), since each of their
       dates is a breakpoint. The cohort, release fields, p, picked_up_on, late_pickup_on,
       excluded_reason, every flag's raised_on and resolved_on, and "in treatment on P+K" are
       functions of those events alone, so they do not move either. Whether n is known yet
       matters only to a prescription dated before n whose first dose is n or later: it
       resolves `no_ost` until n is known, so n is a breakpoint too.
    2. The rest reads D only by comparing it with dates drawn from the events:
       - D <= r+W (awaiting_pickup vs not_picked_up, retained_12w None vs False, the
         not_picked_up flag raised) flips at r+W+1;
       - D < P+K (in_treatment/disengaged vs retained_12w, retention_due) flips at P+K, P
         being a community start;
       - a flag is listed from raised_on (r or r+W+1) and open until resolved_on (an event
         date or a first_dose_on), flipping on those very days;
       - "in treatment on D" asks for a start S <= D and no terminator t with S <= t < D, so
         it flips at S or at t+1.
    Each of those dates is a breakpoint; equal neighbouring versions are merged afterwards.
    """
    frame = Frame(release.previous, release.on, release.next)
    last = reach(frame, rules)
    edges = {release.on, release.on + timedelta(days=rules.pickup_window_days) + ONE_DAY}
    if release.next is not None:
        edges.add(release.next)
    for event in whole.dated(after(release.previous), after(last)):
        first_dose = event.data["first_dose_on"] if event.type == EventType.OST_PRESCRIBED else None
        if bears_on(event.type, event.occurred_on, first_dose, frame, rules):
            edges.update(_edges(event, rules))
    for first_dose, occurred_on in whole.doses(release.on, after(last)):
        if bears_on(EventType.OST_PRESCRIBED, occurred_on, first_dose, frame, rules):
            edges.update((occurred_on, first_dose))
    return sorted(day for day in edges if day >= release.on)


def _edges(event: Event, rules: Rules) -> tuple[date, ...]:
    on = event.occurred_on
    if event.type == EventType.COMMUNITY_TREATMENT_STARTED:
        # Any start may turn out to be the pickup P, so every S+K is a candidate.
        return on, on + timedelta(days=rules.retention_days)
    if event.type == EventType.OST_PRESCRIBED:
        return on, event.data["first_dose_on"]
    if event.type in TERMINATORS:
        return on, on + ONE_DAY
    return (on,)


def _version(record: JoinUpRecord, start: date, stop: date | None) -> RecordVersion:
    return RecordVersion(
        release_id=record.release_id,
        released_on=record.released_on,
        prison=record.prison,
        release_type=record.release_type,
        local_authority=record.local_authority,
        probation_region=record.probation_region,
        community_provider=record.community_provider,
        valid_from=start,
        valid_until=stop,
        stage=record.stage,
        open_flags=frozenset(flag.code for flag in record.flags if flag.open),
        tally=tally(record),
        record=record,
    )


def _extend(chain: list[RecordVersion], version: RecordVersion) -> None:
    """Append `version`, or stretch the last one over it when nothing visible changed."""
    last = chain[-1] if chain else None
    if last is not None and _state(last) == _state(version):
        chain[-1] = replace(last, valid_until=version.valid_until)
    else:
        chain.append(version)


# Every field of a record but its as-of date; stage and open flags are among them.
_SHOWN: Final = attrgetter(*(f.name for f in fields(JoinUpRecord) if f.name != "as_of"))


def _state(version: RecordVersion) -> tuple[Tally, tuple[object, ...]]:
    return version.tally, _SHOWN(version.record)
