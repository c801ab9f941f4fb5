"""One person's events as of a date, indexed for the interval questions the rules ask.

Every window is half-open, [start, stop), with None for an unbounded side; the closed and
open ends of §4 are written with `after(day)`, the first day after `day`: "(p, r]" is
`[after(p), after(r))`, "[r, r+W]" is `[r, after(r + W))`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import groupby
from typing import Final, overload

from app.domain.events import Event
from app.domain.vocabulary import EventType

ONE_DAY: Final = timedelta(days=1)
RELEASE_FIELDS: Final = (
    "prison",
    "release_type",
    "local_authority",
    "probation_region",
    "community_provider",
)


def arrival_order(event: Event) -> tuple[date, int]:
    """Date first, then arrival: the only order the rules ever look at."""
    return event.occurred_on, event.seq


@overload
def after(day: date) -> date: ...
@overload
def after(day: None) -> None: ...
def after(day: date | None) -> date | None:
    """The first day after `day`; None (an unbounded side) stays unbounded."""
    return None if day is None else day + ONE_DAY


def between(days: Sequence[date], start: date | None, stop: date | None) -> tuple[int, int]:
    """The index range of the sorted `days` that lie in [start, stop)."""
    low = 0 if start is None else bisect_left(days, start)
    high = len(days) if stop is None else bisect_left(days, stop)
    return low, max(low, high)


class Timeline:
    """The events dated on or before `as_of`, by type, each list in date-then-arrival order.

    Sorting once and answering every window with a binary search keeps a derivation at
    O(n log n) for a person's whole history, however many releases it has. A timeline cut at an
    earlier date (`until`) shares the sorted lists and only lowers the bound it answers within.
    """

    def __init__(self, events: Iterable[Event], as_of: date) -> None:
        by_type: defaultdict[str, list[Event]] = defaultdict(list)
        for event in sorted((e for e in events if e.occurred_on <= as_of), key=arrival_order):
            by_type[event.type].append(event)
        self._events = dict(by_type)
        self._days = {kind: [e.occurred_on for e in found] for kind, found in by_type.items()}
        self._end: date | None = None  # events dated before it are known; None: all of them
        # Every prescription as (first_dose_on, occurred_on), by first dose: shared with the
        # cuts, which skip the prescriptions not yet known to them.
        doses = (e.data["first_dose_on"] for e in self._events.get(EventType.OST_PRESCRIBED, ()))
        known = self._days.get(EventType.OST_PRESCRIBED, [])
        self._doses: list[tuple[date, date]] = sorted(zip(doses, known, strict=True))
        self._dose_days = [dose for dose, _ in self._doses]
        self._releases: tuple[Release, ...] | None = None
        self._release_days: list[date] | None = None
        self._whole: Timeline = self

    def until(self, as_of: date) -> Timeline:
        """The same person's timeline as it stood on `as_of`, without sorting again."""
        cut = object.__new__(Timeline)
        cut._events, cut._days = self._events, self._days
        cut._doses, cut._dose_days = self._doses, self._dose_days
        end = after(as_of)
        cut._end = end if self._end is None else min(self._end, end)
        cut._releases = None
        cut._release_days = None
        cut._whole = self._whole
        return cut

    def release_on(self, day: date) -> Release:
        """The release dated `day` as this timeline knows it: its next release only once that
        is known. Unlike `releases`, this costs nothing per release of the person."""
        whole = self._whole
        release = whole.releases()[bisect_left(whole.release_days(), day)]
        if self._end is not None and release.next is not None and release.next >= self._end:
            return replace(release, next=None)
        return release

    def release_days(self) -> list[date]:
        """The dates of the releases, oldest first."""
        if self._release_days is None:
            self._release_days = [release.on for release in self.releases()]
        return self._release_days

    def _range(self, kind: str, start: date | None, stop: date | None) -> tuple[int, int]:
        """The index range of the events of `kind` dated in [start, stop) and known."""
        days = self._days.get(kind)
        if days is None:
            return 0, 0
        end = self._end
        if end is not None and (stop is None or stop > end):
            stop = end
        return between(days, start, stop)

    def of(self, kind: str, start: date | None = None, stop: date | None = None) -> list[Event]:
        """The events of `kind` dated in [start, stop), oldest first."""
        low, high = self._range(kind, start, stop)
        return self._events[kind][low:high] if low < high else []

    def first(self, kind: str, start: date | None, stop: date | None) -> date | None:
        """The date of the first event of `kind` in [start, stop), if any."""
        low, high = self._range(kind, start, stop)
        return self._days[kind][low] if low < high else None

    def last(self, kind: str, start: date | None, stop: date | None) -> date | None:
        """The date of the last event of `kind` in [start, stop), if any."""
        low, high = self._range(kind, start, stop)
        return self._days[kind][high - 1] if low < high else None

    def has(self, kind: str, start: date | None, stop: date | None) -> bool:
        low, high = self._range(kind, start, stop)
        return low < high

    def dated(self, start: date | None, stop: date | None) -> Iterator[Event]:
        """Every known event dated in [start, stop), of any type, in no particular order."""
        for kind in self._events:
            yield from self.of(kind, start, stop)

    def doses(self, start: date | None, stop: date | None) -> list[tuple[date, date]]:
        """(first_dose_on, occurred_on) of every prescription, known or not, whose first dose
        falls in [start, stop)."""
        low, high = between(self._dose_days, start, stop)
        return self._doses[low:high]

    def first_dose(self, start: date | None, stop: date | None) -> date | None:
        """The earliest `first_dose_on` in [start, stop) among the prescriptions known."""
        low, high = between(self._dose_days, start, stop)
        end = self._end
        for index in range(low, high):
            dose, occurred_on = self._doses[index]
            if end is None or occurred_on < end:
                return dose
        return None

    def releases(self) -> tuple[Release, ...]:
        """The person's releases, oldest first; release events of one date are one release."""
        if self._releases is None:
            if self._whole is self:
                self._releases = _releases(self.of(EventType.PRISON_RELEASED))
            else:
                # The releases as of then are a prefix of the whole's; only the last one's next
                # may not be known yet.
                whole = self._whole.releases()
                known = bisect_left(self._whole.release_days(), self._end or date.max)
                kept = whole[:known]
                if kept and known < len(whole):
                    kept = (*kept[:-1], replace(kept[-1], next=None))
                self._releases = kept
        return self._releases


def _releases(events: list[Event]) -> tuple[Release, ...]:
    by_day = [list(g) for _, g in groupby(events, lambda e: e.occurred_on)]
    days: list[date | None] = [None, *(group[0].occurred_on for group in by_day), None]
    return tuple(
        Release(group[0].lineage, group[0].occurred_on, _merge(group), days[i], days[i + 2])
        for i, group in enumerate(by_day)
    )


@dataclass(frozen=True, slots=True)
class Release:
    """One release and its neighbours: the frame every window of §4 is drawn in.

    `release_id` is the lineage of the earliest-received event of the date, so it survives
    corrections (which keep the lineage) and later same-date events alike.
    """

    release_id: str
    on: date
    fields: dict[str, str | None]
    previous: date | None
    next: date | None

    @property
    def release_type(self) -> str:
        return str(self.fields["release_type"])


# The release type of a publisher that knows less (§3.3): it never replaces a specific one.
_UNSPECIFIC_RELEASE_TYPE: Final = "other"


def _merge(group: list[Event]) -> dict[str, str | None]:
    """The later-received non-null value of each field wins (§3.3's one order exception),
    except that a release type of `other` never replaces a more specific one."""
    merged: dict[str, str | None] = dict.fromkeys(RELEASE_FIELDS)
    for event in group:  # in arrival order, so later values overwrite earlier ones
        data = event.data
        for name in RELEASE_FIELDS:
            value = data.get(name)
            if value is not None and not _less_specific(name, value, merged[name]):
                merged[name] = value
    return merged


def _less_specific(name: str, value: str, held: str | None) -> bool:
    return name == "release_type" and value == _UNSPECIFIC_RELEASE_TYPE and held is not None
