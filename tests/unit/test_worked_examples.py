"""The four worked examples of CONTRACT §4.1, at every as-of date they mention."""

from __future__ import annotations

from datetime import date

from app.domain.events import Event
from app.domain.records import Flag, JoinUpRecord, derive
from app.domain.rules import Rules
from tests.support.builders import (
    community_exited,
    community_started,
    day,
    example_a,
    example_b,
    history,
    reception,
    referral,
    released,
    treatment_started,
)

RULES = Rules(pickup_window_days=21, retention_days=84, ost_grace_days=1)
RELEASE = day("2026-03-02")


def only_record(events: list[Event], as_of: str) -> JoinUpRecord:
    records = derive(events, day(as_of), RULES)
    assert len(records) == 1
    return records[0]


def test_a_awaiting_pickup_without_flags() -> None:
    record = only_record(example_a(), "2026-03-05")
    assert record.stage == "awaiting_pickup"
    assert record.flags == ()
    assert record.in_treatment_at_release
    assert (record.substance_group, record.on_ost) == ("opiate", True)
    assert record.pickup_due_by == day("2026-03-23")
    assert (record.picked_up_on, record.retained_12w) == (None, None)


def test_a_retained_on_the_84th_day_after_pickup() -> None:
    record = only_record(example_a(), "2026-06-01")
    assert record.stage == "retained_12w"
    assert record.picked_up_on == day("2026-03-09")
    assert record.retention_due_on == day("2026-06-01")
    assert record.retained_12w is True
    assert record.flags == ()


def test_b_awaiting_pickup_with_four_open_flags() -> None:
    record = only_record(example_b(), "2026-03-23")
    assert record.stage == "awaiting_pickup"
    assert record.flags == tuple(
        Flag(code, RELEASE, None, True)
        for code in ("no_ost", "no_naloxone", "no_licence_condition", "no_referral")
    )


def test_b_not_picked_up_the_day_after_the_window() -> None:
    record = only_record(example_b(), "2026-03-24")
    assert record.stage == "not_picked_up"
    assert record.retained_12w is False
    assert record.flags[-1] == Flag("not_picked_up", day("2026-03-24"), None, True)
    assert [flag.code for flag in record.flags if flag.open] == [
        "no_ost",
        "no_naloxone",
        "no_licence_condition",
        "no_referral",
        "not_picked_up",
    ]


def test_b_late_pickup_resolves_not_picked_up_and_no_referral() -> None:
    record = only_record(example_b(), "2026-04-30")
    late = day("2026-04-10")
    assert record.stage == "not_picked_up"
    assert (record.picked_up_on, record.late_pickup_on) == (None, late)
    assert record.flags == (
        Flag("no_ost", RELEASE, None, True),
        Flag("no_naloxone", RELEASE, None, True),
        Flag("no_licence_condition", RELEASE, None, True),
        Flag("no_referral", RELEASE, late, False),
        Flag("not_picked_up", day("2026-03-24"), late, False),
    )


def test_c_returned_to_custody_is_excluded_without_flags() -> None:
    events = history(
        treatment_started("2026-01-15", "alcohol_only"),
        released("2026-03-02", "end_of_sentence"),
        reception("2026-03-15", "recall"),
    )
    record = only_record(events, "2026-04-30")
    assert record.stage == "excluded"
    assert record.excluded_reason == "returned_to_custody"
    assert record.flags == ()


def test_d_dropped_out_before_twelve_weeks_is_disengaged() -> None:
    events = history(
        treatment_started("2026-01-15", "non_opiate_only"),
        referral("2026-03-01"),
        released("2026-03-02", "end_of_sentence"),
        community_started("2026-03-05"),
        community_exited("2026-04-01", "dropped_out"),
    )
    record = only_record(events, "2026-06-30")
    assert record.stage == "disengaged"
    assert record.retained_12w is False
    assert record.retention_due_on == date(2026, 5, 28)
    assert record.flags == ()
