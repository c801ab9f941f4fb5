"""Which of a person's events bear on some of their releases: those dated in the releases'
(p, n) spans (CONTRACT §4: p and n are the dates of the releases before and after)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date

# An open span (p, n); None for an unbounded side.
Span = tuple[date | None, date | None]


def spans(release_dates: Iterable[date], chosen: Collection[date]) -> list[Span]:
    """The open spans (p, n) around each chosen release date, None for an unbounded side.

    `release_dates` are all the person's release dates; two releases on one date are one.
    """
    dates = sorted(set(release_dates))
    found: list[Span] = []
    for i, day in enumerate(dates):
        if day in chosen:
            before = dates[i - 1] if i > 0 else None
            after = dates[i + 1] if i + 1 < len(dates) else None
            found.append((before, after))
    return found


def within(day: date, windows: Iterable[Span]) -> bool:
    """Whether `day` lies inside one of the open spans."""
    return any(
        (before is None or before < day) and (after is None or day < after)
        for before, after in windows
    )
