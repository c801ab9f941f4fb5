"""What a release's record reads, and so which releases an event can change (CONTRACT §4).

A release R on r, between the person's previous release p and next one n, reads:
- its neighbours' dates, p and n, and the release events of its own date;
- events of any type dated in (p, n): the cohort, licence, naloxone and referral windows
  before release, and the flags' resolutions after it;
- community treatment starts and what ends an episode (an exit, a death, a reception) dated
  in [r, r+W+K]: the pickup window [r, r+W] may reach past n, and "in treatment on P+K" further;
- prescriptions whose first dose falls in [r, max(n, r+G+1)), whatever date they carry, and
  those whose first dose falls on or after r that are dated before n: until n is known, the
  earliest first dose after r+G resolves `no_ost`, however late it is booked.

Nothing else: so an event changes only the releases it bears on, and a release's record can be
derived again from the events in its own horizon, (p, reach], and the prescriptions dated in it
or before it whose first dose falls on or after p, without the rest of the history.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from app.domain.rules import Rules
from app.domain.vocabulary import TERMINATORS, EventType

# The events a community treatment episode is made of: read up to r+W+K, past the next release.
EPISODE: Final = frozenset({EventType.COMMUNITY_TREATMENT_STARTED, *TERMINATORS})


@dataclass(frozen=True, slots=True)
class Edit:
    """An event that started or stopped counting for a person: what it takes to know which of
    their releases it could change."""

    type: str
    occurred_on: date
    first_dose_on: date | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """A release's date and its neighbours' (None: there is none on that side)."""

    previous: date | None
    on: date
    next: date | None


def _episode_end(on: date, rules: Rules) -> date:
    return on + timedelta(days=rules.pickup_window_days + rules.retention_days)


def _dose_stop(frame: Frame, rules: Rules) -> date | None:
    """The end (exclusive) of the first doses a release reads: max(n, r+G+1)."""
    grace_stop = frame.on + timedelta(days=rules.ost_grace_days + 1)
    return None if frame.next is None else max(frame.next, grace_stop)


def reach(frame: Frame, rules: Rules) -> date | None:
    """The last date an event the release reads can carry, or a prescription dated after n
    its first dose (None: no end). Its horizon is (previous, reach]."""
    if frame.next is None:
        return None
    dose_stop = _dose_stop(frame, rules)
    assert dose_stop is not None
    return max(frame.next, _episode_end(frame.on, rules), dose_stop - timedelta(days=1))


def bears_on(kind: str, day: date, first_dose_on: date | None, frame: Frame, rules: Rules) -> bool:
    """Whether an event of `kind` dated `day` can change the record of the release in `frame`.

    A release event bears on a release only as its neighbour or as itself: `affected` handles
    those; here they bear on none.
    """
    if kind == EventType.PRISON_RELEASED:
        return False
    if kind == EventType.OST_PRESCRIBED:
        assert first_dose_on is not None
        if first_dose_on < frame.on:
            return False
        if frame.next is None or day < frame.next:
            return True  # read until n is known, however late its first dose
        stop = _dose_stop(frame, rules)
        assert stop is not None
        return first_dose_on < stop
    if kind in EPISODE and frame.on <= day <= _episode_end(frame.on, rules):
        return True
    return (frame.previous is None or frame.previous < day) and (
        frame.next is None or day < frame.next
    )


def frame_at(days: Sequence[date], index: int) -> Frame:
    """The frame of the release `days[index]` among the person's sorted release dates."""
    previous = days[index - 1] if index > 0 else None
    following = days[index + 1] if index + 1 < len(days) else None
    return Frame(previous, days[index], following)


def affected(days: Sequence[date], edits: Iterable[Edit], rules: Rules) -> set[date]:
    """The release dates whose stored records `edits` may have changed, given the person's
    release dates `days` (sorted) after them; a release date that is gone is among them, so that
    what was stored of it goes too."""
    found: set[date] = set()
    span = timedelta(days=rules.pickup_window_days + rules.retention_days)
    grace = timedelta(days=rules.ost_grace_days)
    for edit in edits:
        day = edit.occurred_on
        if edit.type == EventType.PRISON_RELEASED:
            # It, and the neighbours whose previous or next it is (or was).
            found.add(day)
            found.update(days[index] for index in _around(days, day, day))
            continue
        candidates = set(_around(days, day - span, day))
        if edit.first_dose_on is not None:
            # Every release from the one it is dated in to its first dose may read it.
            dose = edit.first_dose_on
            candidates.update(_around(days, min(day, dose - grace), max(day, dose)))
        for index in candidates:
            if bears_on(edit.type, day, edit.first_dose_on, frame_at(days, index), rules):
                found.add(days[index])
    return found


def _around(days: Sequence[date], first: date, last: date) -> range:
    """The indexes of the releases dated in [first, last], and of the one just before and the
    one just after that range."""
    low = max(bisect_left(days, first) - 1, 0)
    high = min(bisect_right(days, last) + 1, len(days))
    return range(low, high)


Window = tuple[date | None, date | None]  # inclusive; None: unbounded


def horizons(days: Sequence[date], chosen: Iterable[date], rules: Rules) -> list[Window]:
    """The dates, as few merged windows, that the events (or a prescription's first dose) of
    the chosen releases' horizons carry, each release's own previous date included so that the
    release knows it."""
    index = {day: i for i, day in enumerate(days)}
    frames = (frame_at(days, index[day]) for day in chosen if day in index)
    windows = sorted(((f.previous, reach(f, rules)) for f in frames), key=_start_key)
    merged: list[Window] = []
    for start, stop in windows:
        if merged and _overlaps(merged[-1], start):
            last_start, last_stop = merged[-1]
            wider = None if stop is None or last_stop is None else max(stop, last_stop)
            merged[-1] = (last_start, wider)
        else:
            merged.append((start, stop))
    return merged


def _start_key(window: Window) -> date:
    return window[0] or date.min


def _overlaps(window: Window, start: date | None) -> bool:
    stop = window[1]
    return stop is None or start is None or start <= stop + timedelta(days=1)
