"""One table per clause of CONTRACT §4, each row a history, an as-of date and what must hold.

Dates are written as days after the release R (`at(21)` is r+W), with W=21, K=84, G=1.
Each row checks only the fields it names, on the record of the release on R.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.domain.events import Event
from app.domain.records import JoinUpRecord, derive
from app.domain.rules import Rules
from app.domain.vocabulary import EventType
from tests.support.builders import (
    community_exited,
    community_started,
    died,
    event,
    history,
    licence_activated,
    licence_inactivated,
    naloxone,
    ost_prescribed,
    reception,
    referral,
    released,
    treatment_ended,
    treatment_started,
)

RULES = Rules()
R = date(2026, 3, 2)


def at(days: int) -> date:
    return R + timedelta(days=days)


def case(name: str, events: list[Event], as_of: int, **expected: Any) -> Any:
    return pytest.param(events, at(as_of), expected, id=name)


def view(record: JoinUpRecord, expected: dict[str, Any]) -> dict[str, Any]:
    """The record's values of the expected keys; `flags` as {code: (raised, resolved, open)}."""
    flags = {f.code: (f.raised_on, f.resolved_on, f.open) for f in record.flags}
    return {key: flags if key == "flags" else getattr(record, key) for key in expected}


def check(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    records = {record.released_on: record for record in derive(history(*events), as_of, RULES)}
    assert view(records[R], expected) == expected


def cohort(*extra: Event, release_type: str = "end_of_sentence") -> list[Event]:
    """In treatment at release, opiate and on OST; `extra` events complete the history."""
    return [treatment_started(at(-30), "opiate", on_ost=True), released(R, release_type), *extra]


def full_care(*extra: Event, leave_out: str = "", on_ost: bool = True) -> list[Event]:
    """A supervised opiate release with nothing missing, but for `leave_out`."""
    care = {
        "treatment": treatment_started(at(-30), "opiate", on_ost=on_ost),
        "referral": referral(at(-5)),
        "ost": ost_prescribed(at(-3), first_dose_on=R),
        "licence": licence_activated(at(-2), "L1", "drug_testing"),
        "naloxone": naloxone(at(-1)),
    }
    kept = [e for name, e in care.items() if name != leave_out]
    return [*kept, released(R, "conditional_release"), *extra]


NOT_IN_COHORT = {
    "stage": "not_in_cohort",
    "in_treatment_at_release": False,
    "substance_group": None,
    "on_ost": None,
    "excluded_reason": None,
    "flags": {},
}
OPEN = True
CLOSED = False

COHORT = [
    case(
        "open treatment at release",
        cohort(),
        1,
        in_treatment_at_release=True,
        substance_group="opiate",
        on_ost=True,
        stage="awaiting_pickup",
    ),
    case(
        "on_ost defaults to false",
        [
            event(
                EventType.PRISON_TREATMENT_STARTED, at(-30), prison="MDI", substance_group="opiate"
            ),
            released(R),
        ],
        1,
        on_ost=False,
    ),
    case(
        "ended before release",
        [treatment_started(at(-30)), treatment_ended(at(-1)), released(R)],
        1,
        **NOT_IN_COHORT,
    ),
    case(
        "ended on the release day",
        [treatment_started(at(-30)), treatment_ended(R), released(R)],
        1,
        in_treatment_at_release=True,
    ),
    case(
        "ended the day it started",
        [treatment_started(at(-10)), treatment_ended(at(-10)), released(R)],
        1,
        **NOT_IN_COHORT,
    ),
    case(
        "an end before the start is another episode's",
        [treatment_ended(at(-20)), treatment_started(at(-10)), released(R)],
        1,
        in_treatment_at_release=True,
    ),
    case(
        "latest start wins",
        [
            treatment_started(at(-30), "opiate", on_ost=True),
            treatment_started(at(-10), "alcohol_only"),
            released(R),
        ],
        1,
        substance_group="alcohol_only",
        on_ost=False,
    ),
    case(
        "latest start wins after an earlier episode ended",
        [
            treatment_started(at(-30), "alcohol_only"),
            treatment_ended(at(-20)),
            treatment_started(at(-10), "opiate", on_ost=True),
            released(R),
        ],
        1,
        substance_group="opiate",
        on_ost=True,
    ),
    case(
        "an end after the latest start closes every start",
        [
            treatment_started(at(-30), "opiate"),
            treatment_started(at(-10), "alcohol_only"),
            treatment_ended(at(-5)),
            released(R),
        ],
        1,
        **NOT_IN_COHORT,
    ),
    case(
        "same-date starts: the later-received wins",
        [
            treatment_started(at(-10), "opiate"),
            treatment_started(at(-10), "alcohol_only"),
            released(R),
        ],
        1,
        substance_group="alcohol_only",
    ),
    case(
        "started on the release day",
        [treatment_started(R), released(R)],
        1,
        in_treatment_at_release=True,
    ),
    case("started after release", [released(R), treatment_started(at(1))], 5, **NOT_IN_COHORT),
    case(
        "treatment before the previous release is that release's",
        [treatment_started(at(-60)), released(at(-40)), released(R)],
        1,
        **NOT_IN_COHORT,
    ),
    case(
        "treatment on the previous release day is that release's",
        [released(at(-40)), treatment_started(at(-40)), released(R)],
        1,
        **NOT_IN_COHORT,
    ),
    case(
        "treatment the day after the previous release",
        [released(at(-40)), treatment_started(at(-39)), released(R)],
        1,
        in_treatment_at_release=True,
    ),
    case(
        "outside the cohort the pickup is not shown (§5, settled)",
        [released(R), community_started(at(3))],
        5,
        stage="not_in_cohort",
        picked_up_on=None,
        retention_due_on=None,
        retained_12w=None,
        flags={},
    ),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), COHORT)
def test_cohort(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


def excluded(reason: str) -> dict[str, Any]:
    return {"stage": "excluded", "excluded_reason": reason, "flags": {}}


NOT_EXCLUDED = {"excluded_reason": None}

EXCLUSION = [
    *(
        case(f"release type {kind}", cohort(release_type=kind), 1, **excluded(kind))
        for kind in ("deported", "hospital", "died_in_custody")
    ),
    case("died on the release day", cohort(died(R)), 1, **excluded("died")),
    case("died on r+W", cohort(died(at(21))), 30, **excluded("died")),
    case("died on r+W+1", cohort(died(at(22))), 30, stage="not_picked_up", **NOT_EXCLUDED),
    case("died before release", cohort(died(at(-1))), 1, stage="awaiting_pickup", **NOT_EXCLUDED),
    case(
        "pickup on the day of death counts as picked up",
        cohort(community_started(at(5)), died(at(5))),
        10,
        picked_up_on=at(5),
        stage="disengaged",
        **NOT_EXCLUDED,
    ),
    case("died after pickup", cohort(community_started(at(3)), died(at(10))), 12, **NOT_EXCLUDED),
    case(
        "died before pickup",
        cohort(died(at(3)), community_started(at(5))),
        12,
        picked_up_on=None,
        retention_due_on=None,
        **excluded("died"),
    ),
    case("death not yet known", cohort(died(at(10))), 5, stage="awaiting_pickup", **NOT_EXCLUDED),
    case(
        "reception on the release day does not exclude",
        cohort(reception(R)),
        5,
        stage="awaiting_pickup",
        **NOT_EXCLUDED,
    ),
    case("reception the day after", cohort(reception(at(1))), 5, **excluded("returned_to_custody")),
    case("reception on r+W", cohort(reception(at(21))), 30, **excluded("returned_to_custody")),
    case("reception on r+W+1", cohort(reception(at(22))), 30, **NOT_EXCLUDED),
    case(
        "pickup on the day of reception counts as picked up",
        cohort(community_started(at(4)), reception(at(4))),
        10,
        picked_up_on=at(4),
        **NOT_EXCLUDED,
    ),
    case(
        "reception before pickup",
        cohort(reception(at(3)), community_started(at(4))),
        10,
        **excluded("returned_to_custody"),
    ),
    case(
        "death comes before reception in precedence",
        cohort(reception(at(2)), died(at(10))),
        12,
        **excluded("died"),
    ),
    case(
        "release type comes before death",
        cohort(died(R), release_type="deported"),
        1,
        **excluded("deported"),
    ),
    case(
        "outside the cohort nothing is excluded",
        [released(R, "deported"), died(at(1))],
        5,
        stage="not_in_cohort",
        **NOT_EXCLUDED,
    ),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), EXCLUSION)
def test_exclusion(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


PICKUP = [
    case(
        "start on the release day",
        cohort(community_started(R)),
        1,
        picked_up_on=R,
        pickup_due_by=at(21),
        retention_due_on=at(84),
    ),
    case("start on r+W", cohort(community_started(at(21))), 30, picked_up_on=at(21)),
    case(
        "start on r+W+1 is late",
        cohort(community_started(at(22))),
        30,
        picked_up_on=None,
        late_pickup_on=at(22),
        retention_due_on=None,
        stage="not_picked_up",
    ),
    case(
        "start before release is no pickup",
        cohort(community_started(at(-1))),
        5,
        picked_up_on=None,
        late_pickup_on=None,
        stage="awaiting_pickup",
    ),
    case(
        "the first start in the window",
        cohort(community_started(at(10)), community_started(at(3))),
        12,
        picked_up_on=at(3),
    ),
    case(
        "no late pickup once picked up",
        cohort(community_started(at(3)), community_started(at(25))),
        30,
        late_pickup_on=None,
    ),
    case(
        "the first late start",
        cohort(community_started(at(28)), community_started(at(25))),
        30,
        late_pickup_on=at(25),
    ),
    case(
        "a late start after the next release is the next release's",
        cohort(released(at(30)), community_started(at(35))),
        40,
        late_pickup_on=None,
    ),
    case(
        "retained_12w undecided while the window is open",
        cohort(),
        21,
        retained_12w=None,
        stage="awaiting_pickup",
    ),
    case("not picked up is not retained", cohort(), 22, retained_12w=False),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), PICKUP)
def test_pickup(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


def picked_up(*extra: Event) -> list[Event]:
    """Picked up on r+2, so P+K is r+86."""
    return cohort(community_started(at(2)), *extra)


IN_TREATMENT = [
    case("after pickup", picked_up(), 10, stage="in_treatment"),
    case("exit on day X itself", picked_up(community_exited(at(10))), 10, stage="in_treatment"),
    case("the day after exit", picked_up(community_exited(at(10))), 11, stage="disengaged"),
    case("death on day X itself", picked_up(died(at(30))), 30, stage="in_treatment"),
    case("the day after death", picked_up(died(at(30))), 31, stage="disengaged"),
    case("reception on day X itself", picked_up(reception(at(30))), 30, stage="in_treatment"),
    case("the day after reception", picked_up(reception(at(30))), 31, stage="disengaged"),
    case(
        "restarted after exit",
        picked_up(community_exited(at(10)), community_started(at(15))),
        20,
        stage="in_treatment",
    ),
    case(
        "an exit before the start is another episode's",
        cohort(community_exited(at(1)), community_started(at(2))),
        10,
        stage="in_treatment",
    ),
    case(
        "started and exited the same day, that day",
        picked_up(community_exited(at(2))),
        2,
        stage="in_treatment",
    ),
    case(
        "started and exited the same day, the day after",
        picked_up(community_exited(at(2))),
        3,
        stage="disengaged",
    ),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), IN_TREATMENT)
def test_in_treatment_on_day_x(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


RETENTION = [
    case(
        "P+83 undecided",
        picked_up(),
        85,
        stage="in_treatment",
        retained_12w=None,
        retention_due_on=at(86),
    ),
    case("P+84 retained", picked_up(), 86, stage="retained_12w", retained_12w=True),
    case(
        "exit on P+83",
        picked_up(community_exited(at(85))),
        86,
        stage="disengaged",
        retained_12w=False,
    ),
    case(
        "exit on P+84",
        picked_up(community_exited(at(86))),
        86,
        stage="retained_12w",
        retained_12w=True,
    ),
    case(
        "an exit after P+84 does not undo retention",
        picked_up(community_exited(at(90))),
        100,
        stage="retained_12w",
        retained_12w=True,
    ),
    case(
        "back in treatment by P+84",
        picked_up(community_exited(at(50)), community_started(at(60))),
        86,
        stage="retained_12w",
    ),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), RETENTION)
def test_retention(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


STAGES = [
    case("not_in_cohort", [released(R)], 1, stage="not_in_cohort"),
    case("excluded", cohort(died(at(1))), 1, stage="excluded"),
    case("awaiting_pickup on r", cohort(), 0, stage="awaiting_pickup"),
    case("awaiting_pickup on r+W", cohort(), 21, stage="awaiting_pickup"),
    case("not_picked_up on r+W+1", cohort(), 22, stage="not_picked_up"),
    case("in_treatment", picked_up(), 3, stage="in_treatment"),
    case("disengaged before P+K", picked_up(community_exited(at(5))), 6, stage="disengaged"),
    case("disengaged after P+K", picked_up(community_exited(at(5))), 86, stage="disengaged"),
    case("retained_12w", picked_up(), 86, stage="retained_12w"),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), STAGES)
def test_stage(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


def raised(resolved_on: date | None = None, as_of: int = 5) -> tuple[date, date | None, bool]:
    """A flag raised on R, as (raised_on, resolved_on, open) as of day `as_of`."""
    return R, resolved_on, resolved_on is None or resolved_on > at(as_of)


FLAGS = [
    case("nothing missing", full_care(), 5, flags={}),
    case("no_ost: no prescription", full_care(leave_out="ost"), 5, flags={"no_ost": raised()}),
    case("no_ost: not on OST", full_care(leave_out="ost", on_ost=False), 5, flags={}),
    case(
        "no_ost: first dose within the grace day",
        full_care(ost_prescribed(at(-3), first_dose_on=at(1)), leave_out="ost"),
        5,
        flags={},
    ),
    case(
        "no_ost: first dose after the grace day resolves it",
        full_care(ost_prescribed(at(-3), first_dose_on=at(2)), leave_out="ost"),
        5,
        flags={"no_ost": raised(at(2))},
    ),
    case(
        "no_ost: first dose booked for a later day",
        full_care(ost_prescribed(at(1), first_dose_on=at(10)), leave_out="ost"),
        5,
        flags={"no_ost": (R, at(10), OPEN)},
    ),
    case(
        "no_ost: a booking made after the as-of date is unknown",
        full_care(ost_prescribed(at(7), first_dose_on=at(8)), leave_out="ost"),
        5,
        flags={"no_ost": raised()},
    ),
    case(
        "no_ost: a first dose before release neither prevents nor resolves",
        full_care(ost_prescribed(at(-3), first_dose_on=at(-1)), leave_out="ost"),
        5,
        flags={"no_ost": raised()},
    ),
    case(
        "no_ost: a first dose from the next release on does not resolve",
        full_care(released(at(10)), ost_prescribed(at(9), first_dose_on=at(10)), leave_out="ost"),
        15,
        flags={"no_ost": raised(as_of=15)},
    ),
    case(
        "no_naloxone: none",
        full_care(leave_out="naloxone"),
        5,
        flags={"no_naloxone": raised()},
    ),
    case(
        "no_naloxone: not opiate",
        [*full_care(leave_out="treatment"), treatment_started(at(-30), "non_opiate_only")],
        5,
        flags={},
    ),
    case("no_naloxone: issued on R", full_care(naloxone(R), leave_out="naloxone"), 5, flags={}),
    case(
        "no_naloxone: issued on the previous release day",
        full_care(released(at(-40)), naloxone(at(-40)), leave_out="naloxone"),
        5,
        flags={"no_naloxone": raised()},
    ),
    case(
        "no_naloxone: resolved by issue after release",
        full_care(naloxone(at(3)), leave_out="naloxone"),
        5,
        flags={"no_naloxone": raised(at(3))},
    ),
    case(
        "no_naloxone: an issue after the next release does not resolve",
        full_care(released(at(10)), naloxone(at(12)), leave_out="naloxone"),
        15,
        flags={"no_naloxone": raised(as_of=15)},
    ),
    case(
        "no_referral: none",
        full_care(leave_out="referral"),
        1,
        flags={"no_referral": raised(as_of=1)},
    ),
    case("no_referral: received on R", full_care(referral(R), leave_out="referral"), 1, flags={}),
    case(
        "no_referral: received before the previous release",
        full_care(referral(at(-50)), released(at(-40)), leave_out="referral"),
        1,
        flags={"no_referral": raised(as_of=1)},
    ),
    case(
        "no_referral: resolved by a referral after release",
        full_care(referral(at(3)), leave_out="referral"),
        5,
        flags={"no_referral": raised(at(3))},
    ),
    case(
        "no_referral: resolved by a start",
        full_care(community_started(at(2)), leave_out="referral"),
        5,
        flags={"no_referral": raised(at(2))},
    ),
    case(
        "no_referral: resolved on R by a start on R",
        full_care(community_started(R), leave_out="referral"),
        0,
        flags={"no_referral": (R, R, CLOSED)},
    ),
    case(
        "no_referral: a referral after the next release does not resolve",
        full_care(released(at(10)), referral(at(12)), leave_out="referral"),
        15,
        flags={"no_referral": raised(as_of=15)},
    ),
    case("not_picked_up: not on r+W", full_care(), 21, flags={}),
    case(
        "not_picked_up: raised on r+W+1",
        full_care(),
        22,
        flags={"not_picked_up": (at(22), None, OPEN)},
    ),
    case(
        "not_picked_up: open the day before a late pickup",
        full_care(community_started(at(30))),
        29,
        flags={"not_picked_up": (at(22), None, OPEN)},
    ),
    case(
        "not_picked_up: resolved by a late pickup",
        full_care(community_started(at(30))),
        30,
        flags={"not_picked_up": (at(22), at(30), CLOSED)},
    ),
    case("not_picked_up: never once picked up", full_care(community_started(at(3))), 60, flags={}),
    case(
        "excluded releases carry no flags",
        [treatment_started(at(-30), "opiate", on_ost=True), released(R, "hdc"), died(at(1))],
        30,
        flags={},
    ),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), FLAGS)
def test_flag(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


def without_licence(*extra: Event, release_type: str = "conditional_release") -> list[Event]:
    return [
        *full_care(leave_out="licence")[:-1],
        released(R, release_type),
        *extra,
    ]


MISSING = {"flags": {"no_licence_condition": raised()}}
PRESENT: dict[str, Any] = {"flags": {}}

LICENCE = [
    case("no licence", without_licence(), 5, **MISSING),
    case(
        "no licence, not supervised", without_licence(release_type="end_of_sentence"), 5, **PRESENT
    ),
    *(
        case(f"no licence, {kind}", without_licence(release_type=kind), 5, **MISSING)
        for kind in ("hdc", "post_recall_release", "pss", "ecsl")
    ),
    *(
        case(
            f"condition {category}",
            without_licence(licence_activated(at(-2), "L1", category)),
            5,
            **PRESENT,
        )
        for category in ("drug_testing", "drug_appointment", "drug_treatment")
    ),
    case(
        "only alcohol and other conditions",
        without_licence(licence_activated(at(-2), "L1", "alcohol", "other")),
        5,
        **MISSING,
    ),
    case("no conditions", without_licence(licence_activated(at(-2), "L1")), 5, **MISSING),
    case(
        "inactivated before release",
        without_licence(
            licence_activated(at(-5), "L1", "drug_testing"), licence_inactivated(at(-1))
        ),
        5,
        **MISSING,
    ),
    case(
        "inactivated on the release day",
        without_licence(licence_activated(at(-5), "L1", "drug_testing"), licence_inactivated(R)),
        5,
        **MISSING,
    ),
    case(
        "inactivated on its activation day",
        without_licence(
            licence_activated(at(-5), "L1", "drug_testing"), licence_inactivated(at(-5))
        ),
        5,
        **MISSING,
    ),
    case(
        "inactivated after release",
        without_licence(
            licence_activated(at(-5), "L1", "drug_testing"), licence_inactivated(at(1))
        ),
        5,
        **PRESENT,
    ),
    case(
        "another licence inactivated",
        without_licence(
            licence_activated(at(-5), "L1", "drug_testing"), licence_inactivated(at(-1), "L2")
        ),
        5,
        **PRESENT,
    ),
    case(
        "a variation drops the drug condition",
        without_licence(
            licence_activated(at(-10), "L1", "drug_testing"),
            licence_activated(at(-5), "L1", "other"),
        ),
        5,
        **MISSING,
    ),
    case(
        "a variation adds a drug condition",
        without_licence(
            licence_activated(at(-10), "L1", "other"),
            licence_activated(at(-5), "L1", "drug_treatment"),
        ),
        5,
        **PRESENT,
    ),
    case(
        "the later licence inactivated leaves the earlier in force",
        without_licence(
            licence_activated(at(-10), "L1", "drug_testing"),
            licence_activated(at(-5), "L2", "other"),
            licence_inactivated(at(-3), "L2"),
        ),
        5,
        **PRESENT,
    ),
    case(
        "reactivated after an inactivation",
        without_licence(
            licence_activated(at(-10), "L1", "other"),
            licence_inactivated(at(-8), "L1"),
            licence_activated(at(-5), "L1", "drug_testing"),
        ),
        5,
        **PRESENT,
    ),
    case(
        "a licence before the previous release is not in force",
        without_licence(licence_activated(at(-50), "L1", "drug_testing"), released(at(-40))),
        5,
        **MISSING,
    ),
    case(
        "resolved by a variation after release",
        without_licence(licence_activated(at(3), "L1", "drug_appointment")),
        5,
        flags={"no_licence_condition": raised(at(3))},
    ),
    case(
        "an activation after release without a drug condition does not resolve",
        without_licence(licence_activated(at(3), "L1", "alcohol")),
        5,
        **MISSING,
    ),
]


@pytest.mark.parametrize(("events", "as_of", "expected"), LICENCE)
def test_licence_condition(events: list[Event], as_of: date, expected: dict[str, Any]) -> None:
    check(events, as_of, expected)


def test_flags_come_in_the_contract_order() -> None:
    records = derive(history(*cohort(release_type="pss")), at(22), RULES)
    codes = [flag.code for flag in records[0].flags]
    assert codes == [
        "no_ost",
        "no_naloxone",
        "no_licence_condition",
        "no_referral",
        "not_picked_up",
    ]


def test_same_date_releases_merge_and_the_later_received_non_null_wins() -> None:
    first = released(R, "hdc", prison="MDI", local_authority="E08000010", probation_region=None)
    second = released(R, "conditional_release", prison="LPI", probation_region="North West")
    events = history(treatment_started(at(-30)), first, second)
    for given in (events, events[::-1]):
        [record] = derive(given, at(1), RULES)
        assert record.release_id == events[1].lineage  # the earliest-received names it
        assert (record.prison, record.release_type) == ("LPI", "conditional_release")
        assert (record.local_authority, record.probation_region) == ("E08000010", "North West")
        assert record.community_provider is None


def test_same_date_releases_received_the_other_way_round() -> None:
    first = released(R, "conditional_release", prison="LPI")
    second = released(R, "hdc", prison="MDI", community_provider="PROVIDER-WIGAN")
    events = history(first, second)
    [record] = derive(events, at(1), RULES)
    assert (record.release_id, record.prison, record.release_type) == (
        events[0].lineage,
        "MDI",
        "hdc",
    )
    assert record.community_provider == "PROVIDER-WIGAN"


@pytest.mark.parametrize("other_first", [True, False])
def test_a_release_type_of_other_never_replaces_a_specific_one(other_first: bool) -> None:
    vague = released(R, "other", prison="MDI", probation_region="North West")
    specific = released(R, "hdc", prison="MDI")
    events = history(*((vague, specific) if other_first else (specific, vague)))
    [record] = derive(events, at(1), RULES)
    assert (record.release_type, record.probation_region) == ("hdc", "North West")


def test_two_releases_of_type_other_stay_other() -> None:
    events = history(released(R, "other"), released(R, "other", prison="LPI"))
    [record] = derive(events, at(1), RULES)
    assert (record.release_type, record.prison) == ("other", "LPI")


def test_a_release_corrected_to_another_date_keeps_its_release_id() -> None:
    original = history(treatment_started(at(-30)), released(R, lineage="prison-1"))
    corrected = [original[0], *history(released(at(2), lineage="prison-1"))]
    before = derive(original, at(5), RULES)
    after = derive(corrected, at(5), RULES)
    assert [(r.release_id, r.released_on) for r in before] == [("prison-1", R)]
    assert [(r.release_id, r.released_on) for r in after] == [("prison-1", at(2))]


def test_a_retracted_pickup_no_longer_counts() -> None:
    events = history(*cohort(community_started(at(3))))
    retracted = [e for e in events if e.type != "community.treatment.started"]
    assert derive(events, at(30), RULES)[0].picked_up_on == at(3)
    record = derive(retracted, at(30), RULES)[0]
    assert (record.picked_up_on, record.stage) == (None, "not_picked_up")


def test_records_come_oldest_release_first_whatever_the_input_order() -> None:
    events = history(released(at(40)), released(R), released(at(-40)), released(at(10)))
    for given in (events, events[::-1]):
        records = derive(given, at(50), RULES)
        assert [r.released_on for r in records] == [at(-40), R, at(10), at(40)]


def test_events_after_the_as_of_date_are_ignored() -> None:
    events = history(*cohort(community_started(at(3))), released(at(10)))
    assert derive(events, at(-1), RULES) == []
    [record] = derive(events, at(2), RULES)
    assert (record.stage, record.picked_up_on, record.as_of) == ("awaiting_pickup", None, at(2))


def test_the_rule_settings_are_honoured() -> None:
    events = history(*cohort(community_started(at(5))))
    rules = Rules(pickup_window_days=4, retention_days=10, ost_grace_days=0)
    [record] = derive(events, at(15), rules)
    assert (record.pickup_due_by, record.late_pickup_on, record.stage) == (
        at(4),
        at(5),
        "not_picked_up",
    )
