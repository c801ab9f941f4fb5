"""The versions of a record over as-of dates, on the worked examples (CONTRACT §4.1)."""

from __future__ import annotations

from datetime import date

from app.domain.records import derive
from app.domain.rules import Rules
from app.domain.versions import RecordVersion, breakpoints, versions
from tests.support.builders import (
    community_started,
    day,
    example_a,
    example_b,
    history,
    ost_prescribed,
    referral,
    released,
    treatment_started,
)

RULES = Rules()
GAPS_AT_RELEASE = {"no_ost", "no_naloxone", "no_licence_condition", "no_referral"}


def summary(found: list[RecordVersion]) -> list[tuple[date, date | None, str, set[str]]]:
    return [(v.valid_from, v.valid_until, v.stage, set(v.open_flags)) for v in found]


def test_example_b_has_a_version_per_change() -> None:
    events = example_b()
    assert summary(versions(events, RULES)) == [
        (day("2026-03-02"), day("2026-03-24"), "awaiting_pickup", GAPS_AT_RELEASE),
        (
            day("2026-03-24"),
            day("2026-04-10"),
            "not_picked_up",
            {*GAPS_AT_RELEASE, "not_picked_up"},
        ),
        (day("2026-04-10"), None, "not_picked_up", GAPS_AT_RELEASE - {"no_referral"}),
    ]


def test_example_a_moves_from_awaiting_to_in_treatment_to_retained() -> None:
    events = example_a()
    found = versions(events, RULES)
    assert summary(found) == [
        (day("2026-03-02"), day("2026-03-09"), "awaiting_pickup", set()),
        (day("2026-03-09"), day("2026-06-01"), "in_treatment", set()),
        (day("2026-06-01"), None, "retained_12w", set()),
    ]
    [record] = derive(events, day("2026-03-02"), RULES)
    assert {v.release_id for v in found} == {record.release_id}
    assert {(v.prison, v.release_type) for v in found} == {("MDI", "conditional_release")}


def test_the_same_day_version_of_a_no_ost_booking_stays_open_until_the_dose() -> None:
    events = history(
        treatment_started("2026-01-15", "opiate", on_ost=True),
        released("2026-03-02", "end_of_sentence"),
        referral("2026-03-02"),
        ost_prescribed("2026-03-04", first_dose_on="2026-03-10"),
    )
    found = versions(events, RULES)
    assert [(v.valid_from, set(v.open_flags)) for v in found] == [
        (day("2026-03-02"), {"no_ost", "no_naloxone"}),
        # Booked on 03-04: no_ost stays open, but the record now shows when it will resolve.
        (day("2026-03-04"), {"no_ost", "no_naloxone"}),
        (day("2026-03-10"), {"no_naloxone"}),
        (day("2026-03-24"), {"no_naloxone", "not_picked_up"}),
    ]
    no_ost = [[f.resolved_on for f in v.record.flags if f.code == "no_ost"] for v in found[:2]]
    assert no_ost == [[None], [day("2026-03-10")]]


def test_no_release_no_versions() -> None:
    events = history(treatment_started("2026-01-15"), community_started("2026-04-10"))
    assert versions(events, RULES) == []
    assert breakpoints(events, RULES) == []


def test_breakpoints_start_at_the_first_release() -> None:
    events = history(treatment_started("2026-01-15"), released("2026-03-02"))
    points = breakpoints(events, RULES)
    assert points[0] == day("2026-03-02")
    assert day("2026-03-24") in points
