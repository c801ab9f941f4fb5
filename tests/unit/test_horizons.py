"""An edit changes only the releases it bears on, and a release's versions need only the events
of its own horizon: the two facts that let a write re-derive a few releases of a long history
instead of all of them (app/domain/horizons.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.events import Event
from app.domain.horizons import Edit, Window, affected, horizons
from app.domain.rules import Rules
from app.domain.versions import RecordVersion, versions
from app.domain.vocabulary import EventType
from tests.support.histories import START, dates, event_data, histories
from tests.unit.test_properties import check_versions_against_derive, small_rules

LONG = 400  # days over which the long histories' releases spread


def edit_of(event: Event) -> Edit:
    dose = event.data["first_dose_on"] if event.type == EventType.OST_PRESCRIBED else None
    return Edit(event.type, event.occurred_on, dose)


def release_days(events: list[Event]) -> list[date]:
    return sorted({e.occurred_on for e in events if e.type == EventType.PRISON_RELEASED})


def by_release(found: list[RecordVersion]) -> dict[date, list[RecordVersion]]:
    chains: dict[date, list[RecordVersion]] = {}
    for version in found:
        chains.setdefault(version.released_on, []).append(version)
    return chains


@st.composite
def edited(draw: st.DrawFn, /, days: int, **options: Any) -> tuple[list[Event], list[Event]]:
    """A history, and the same history with one event removed, added or moved to another
    date (a correction that moves it, across the neighbouring releases if it is one)."""
    events = draw(histories(days=days, **options))
    how = draw(st.sampled_from(("remove", "add", "move")))
    seq = max(e.seq for e in events) + 1
    if how == "add":
        kind = draw(st.sampled_from((EventType.PRISON_RELEASED, EventType.OST_PRESCRIBED, *_KINDS)))
        on = draw(dates(START, days))
        added = Event(seq, kind, on, draw(event_data(kind, on)), f"ev-{seq:04d}")
        return events, [*events, added]
    chosen = draw(st.sampled_from(events))
    rest = [e for e in events if e is not chosen]
    if how == "remove":
        return events, rest
    on = draw(dates(START, days))
    data = chosen.data
    if chosen.type == EventType.OST_PRESCRIBED:
        data = {**data, "first_dose_on": draw(dates(on - timedelta(days=3), 15) | dates(on, 90))}
    return events, [*rest, replace(chosen, seq=seq, occurred_on=on, data=data)]


_KINDS = (
    "community.treatment.started",
    "community.treatment.exited",
    "prison.reception",
    "person.died",
    "prison.treatment.started",
    "naloxone.issued",
    "community.referral.received",
)


def edits_between(before: list[Event], after: list[Event]) -> list[Edit]:
    """The edits that make `after` of `before`: the events only one of them holds."""
    kept, made = {_key(e) for e in before}, {_key(e) for e in after}
    gone = [e for e in before if _key(e) not in made]
    return [edit_of(e) for e in [*gone, *(e for e in after if _key(e) not in kept)]]


def _key(event: Event) -> tuple[object, ...]:
    return event.seq, event.type, event.occurred_on, str(event.data)


def check_edit(before: list[Event], after: list[Event], rules: Rules) -> None:
    touched = affected(release_days(after), edits_between(before, after), rules)
    old, new = by_release(versions(before, rules)), by_release(versions(after, rules))
    for day in old.keys() | new.keys():
        if day not in touched:
            assert old.get(day) == new.get(day), day


def in_windows(day: date, windows: list[Window]) -> bool:
    return any((lo is None or lo <= day) and (hi is None or day <= hi) for lo, hi in windows)


def fetched(event: Event, windows: list[Window]) -> bool:
    """Whether the store's `counting_in` returns `event` for these windows."""
    if in_windows(event.occurred_on, windows):
        return True
    if event.type != EventType.OST_PRESCRIBED:
        return False
    dose = event.data["first_dose_on"]
    earlier = any(lo is not None and event.occurred_on < lo <= dose for lo, _ in windows)
    return earlier or in_windows(dose, windows)


def check_horizons(events: list[Event], chosen: set[date], rules: Rules) -> None:
    windows = horizons(release_days(events), chosen, rules)
    partial = [e for e in events if fetched(e, windows)]
    whole = [v for v in versions(events, rules) if v.released_on in chosen]
    assert versions(partial, rules, chosen) == whole


@settings(deadline=None, max_examples=300)
@given(edited(days=60, max_releases=5, max_events=20), small_rules)
def test_an_edit_changes_no_release_it_does_not_bear_on(
    histories_: tuple[list[Event], list[Event]], rules: Rules
) -> None:
    check_edit(*histories_, rules)


@settings(deadline=None, max_examples=300)
@given(histories(days=60, max_releases=6, max_events=25), small_rules, st.data())
def test_a_release_needs_only_the_events_of_its_horizon(
    events: list[Event], rules: Rules, data: st.DataObject
) -> None:
    days = release_days(events)
    chosen = set(data.draw(st.lists(st.sampled_from(days), max_size=3)))
    check_horizons(events, chosen, rules)


LONG_RULES = Rules(pickup_window_days=21, retention_days=84, ost_grace_days=1)


@settings(deadline=None, max_examples=15)
@given(edited(days=LONG, max_releases=40, max_events=120), st.data())
def test_long_histories_recalls_inside_windows_and_moved_releases(
    histories_: tuple[list[Event], list[Event]], data: st.DataObject
) -> None:
    """Dozens of releases, weeks apart: the contract's windows span several of them."""
    before, after = histories_
    check_edit(before, after, LONG_RULES)
    days = release_days(after)
    chosen = set(data.draw(st.lists(st.sampled_from(days), max_size=4))) if days else set()
    check_horizons(after, chosen, LONG_RULES)


@settings(deadline=None, max_examples=5)
@given(histories(days=LONG, max_releases=40, max_events=120))
def test_versions_of_long_histories_agree_with_derive_on_every_day(events: list[Event]) -> None:
    check_versions_against_derive(events, LONG_RULES, days=LONG)
