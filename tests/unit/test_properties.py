"""Properties of the rules over random histories of one person.

Short rule settings and a short span of dates make the boundaries of §4 collide often: a
pickup on the last day of the window, an exit on the day asked about, two releases a day apart.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.events import Event
from app.domain.metrics import summarise, tally
from app.domain.records import JoinUpRecord, derive
from app.domain.rules import Rules
from app.domain.versions import RecordVersion, versions
from tests.support.histories import START, dates, histories

DAYS = 30
small_rules = st.builds(
    Rules,
    pickup_window_days=st.integers(0, 6),
    retention_days=st.integers(1, 12),
    ost_grace_days=st.integers(0, 2),
)
as_of_dates = dates(START - timedelta(days=2), DAYS + 25)


def state(record: JoinUpRecord) -> tuple[str, frozenset[str], object]:
    return record.stage, frozenset(f.code for f in record.flags if f.open), tally(record)


def version_state(version: RecordVersion) -> tuple[str, frozenset[str], object]:
    return version.stage, version.open_flags, version.tally


@given(histories(days=DAYS), small_rules, as_of_dates, st.randoms(use_true_random=False))
def test_derive_ignores_the_order_of_its_input(
    events: list[Event], rules: Rules, as_of: date, random: Random
) -> None:
    shuffled = events[:]
    random.shuffle(shuffled)
    assert derive(shuffled, as_of, rules) == derive(events, as_of, rules)


@given(histories(days=DAYS, order_free=True), small_rules, as_of_dates, st.data())
def test_arrival_order_only_names_releases(
    events: list[Event], rules: Rules, as_of: date, data: st.DataObject
) -> None:
    """With no disagreeing same-date events, any arrival order gives the same records."""
    arrival = data.draw(st.permutations(range(len(events))))
    rearrived = [replace(e, seq=seq) for e, seq in zip(events, arrival, strict=True)]
    unnamed = [replace(r, release_id="") for r in derive(events, as_of, rules)]
    assert [replace(r, release_id="") for r in derive(rearrived, as_of, rules)] == unnamed


def check_versions_against_derive(events: list[Event], rules: Rules, days: int = DAYS) -> None:
    found = versions(events, rules)
    last = START + timedelta(days=days + 5 + rules.pickup_window_days + rules.retention_days + 3)
    day = START - timedelta(days=2)
    while day <= last:
        covering = {v.released_on: v for v in found if v.covers(day)}
        records = {r.released_on: r for r in derive(events, day, rules)}
        assert covering.keys() == records.keys(), day
        for released_on, record in records.items():
            assert version_state(covering[released_on]) == state(record), (day, released_on)
            assert covering[released_on].release_id == record.release_id
            # The record a version stores is the one derived on any day it covers.
            assert replace(covering[released_on].record, as_of=day) == record, (day, released_on)
        day += timedelta(days=1)


@settings(deadline=None)
@given(histories(days=DAYS), small_rules)
def test_versions_agree_with_derive_on_every_date(events: list[Event], rules: Rules) -> None:
    check_versions_against_derive(events, rules)


@settings(deadline=None, max_examples=300)
@given(histories(days=DAYS, max_events=5), small_rules)
def test_versions_of_sparse_histories_agree_with_derive(events: list[Event], rules: Rules) -> None:
    # Few events leave most days without a breakpoint, so a missing kind of breakpoint shows.
    check_versions_against_derive(events, rules)


@settings(deadline=None)
@given(histories(days=DAYS), small_rules)
def test_versions_of_a_release_are_contiguous_and_distinct(
    events: list[Event], rules: Rules
) -> None:
    found = versions(events, rules)
    chains: dict[date, list[RecordVersion]] = {}
    for version in found:
        chains.setdefault(version.released_on, []).append(version)
    assert sorted(chains) == [r.released_on for r in derive(events, date.max, rules)]
    for released_on, chain in chains.items():
        assert chain[0].valid_from == released_on
        assert chain[-1].valid_until is None
        for earlier, later in pairwise(chain):
            assert earlier.valid_until == later.valid_from
            shown_earlier = (earlier.tally, replace(earlier.record, as_of=date.min))
            assert shown_earlier != (later.tally, replace(later.record, as_of=date.min))


def count_by_hand(records: list[JoinUpRecord], as_of: date) -> dict[str, int | float | None]:
    """§5's table straight from the record fields, without going through `tally`."""
    cohort = [r for r in records if r.in_treatment_at_release]
    counted = [r for r in cohort if r.excluded_reason is None]
    awaiting = [r for r in counted if r.stage == "awaiting_pickup"]
    picked = [r for r in counted if r.picked_up_on is not None]
    due = [r for r in picked if r.retention_due_on is not None and r.retention_due_on <= as_of]
    retained = [r for r in counted if r.retained_12w is True]

    def flagged(code: str) -> int:
        return sum(any(f.code == code for f in r.flags) for r in counted)

    pickup_due = len(counted) - len(awaiting)
    return {
        "released_in_treatment": len(cohort),
        "excluded": len(cohort) - len(counted),
        "awaiting_pickup": len(awaiting),
        "pickup_due": pickup_due,
        "picked_up": len(picked),
        "pickup_rate": len(picked) / pickup_due if pickup_due else None,
        "retention_due": len(due),
        "retained_12w": len(retained),
        "retention_rate": len(retained) / len(due) if due else None,
        "on_ost": sum(bool(r.on_ost) for r in counted),
        "no_ost": flagged("no_ost"),
        "opiate": sum(r.substance_group == "opiate" for r in counted),
        "no_naloxone": flagged("no_naloxone"),
        "supervised": sum(
            r.release_type in {"conditional_release", "hdc", "post_recall_release", "pss", "ecsl"}
            for r in counted
        ),
        "no_licence_condition": flagged("no_licence_condition"),
        "no_referral": flagged("no_referral"),
    }


@given(st.lists(histories(days=DAYS), max_size=6), small_rules, as_of_dates)
def test_summary_counts_what_the_records_say(
    people: list[list[Event]], rules: Rules, as_of: date
) -> None:
    records = [record for events in people for record in derive(events, as_of, rules)]
    summary = summarise(tally(record) for record in records)
    assert summary == count_by_hand(records, as_of)
    picked_up, pickup_due = summary["picked_up"], summary["pickup_due"]
    assert isinstance(picked_up, int) and isinstance(pickup_due, int)
    assert 0 <= picked_up <= pickup_due
