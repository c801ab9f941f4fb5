"""What a record counts for (CONTRACT §5 metrics table), and the sums and rates over records."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from app.domain.events import Event
from app.domain.metrics import COUNT_NAMES, SUMMARY_NAMES, Tally, summarise, tally, with_rates
from app.domain.records import derive
from app.domain.rules import Rules
from tests.support.builders import (
    community_started,
    day,
    died,
    history,
    licence_activated,
    naloxone,
    ost_prescribed,
    referral,
    released,
    treatment_started,
)

RULES = Rules()
ZERO = Tally(**dict.fromkeys(COUNT_NAMES, 0))


def tally_of(events: list[Event], as_of: str) -> Tally:
    [record] = derive(history(*events), day(as_of), RULES)
    return tally(record)


def counts(**ones: int) -> Tally:
    return replace(ZERO, **ones)


OPIATE_ON_OST = treatment_started("2026-01-15", "opiate", on_ost=True)
FULL_CARE = [
    OPIATE_ON_OST,
    referral("2026-02-20"),
    ost_prescribed("2026-02-27", first_dose_on="2026-03-03"),
    licence_activated("2026-03-01", "L1", "drug_testing"),
    naloxone("2026-03-02"),
    released("2026-03-02", "conditional_release"),
]
COUNTED = {"released_in_treatment": 1, "on_ost": 1, "opiate": 1, "supervised": 1}


@pytest.mark.parametrize(
    ("events", "as_of", "expected"),
    [
        pytest.param([released("2026-03-02")], "2026-06-30", ZERO, id="not in cohort"),
        pytest.param(
            [OPIATE_ON_OST, released("2026-03-02", "hdc"), died("2026-03-03")],
            "2026-06-30",
            counts(released_in_treatment=1, excluded=1),
            id="excluded counts only as excluded",
        ),
        pytest.param(FULL_CARE, "2026-03-05", counts(**COUNTED, awaiting_pickup=1), id="awaiting"),
        pytest.param(FULL_CARE, "2026-03-24", counts(**COUNTED), id="not picked up"),
        pytest.param(
            [*FULL_CARE, community_started("2026-03-09")],
            "2026-05-31",
            counts(**COUNTED, picked_up=1),
            id="picked up, retention not yet due",
        ),
        pytest.param(
            [*FULL_CARE, community_started("2026-03-09")],
            "2026-06-01",
            counts(**COUNTED, picked_up=1, retention_due=1, retained_12w=1),
            id="retained",
        ),
        pytest.param(
            [OPIATE_ON_OST, released("2026-03-02", "hdc"), community_started("2026-04-10")],
            "2026-04-30",
            counts(
                **COUNTED,
                no_ost=1,
                no_naloxone=1,
                no_licence_condition=1,
                no_referral=1,
            ),
            id="resolved flags still count",
        ),
        pytest.param(
            [
                treatment_started("2026-01-15", "alcohol_only"),
                released("2026-03-02", "end_of_sentence"),
            ],
            "2026-03-05",
            counts(released_in_treatment=1, awaiting_pickup=1, no_referral=1),
            id="not opiate, not supervised",
        ),
    ],
)
def test_tally(events: list[Event], as_of: str, expected: Tally) -> None:
    assert tally_of(events, as_of) == expected


def test_count_names_are_the_tally_fields_in_order() -> None:
    assert [field.name for field in fields(Tally)] == list(COUNT_NAMES)
    assert len(COUNT_NAMES) == 13


def test_summary_of_nothing_has_every_count_at_zero_and_no_rates() -> None:
    summary = summarise([])
    assert list(summary) == list(SUMMARY_NAMES)
    assert {k: v for k, v in summary.items() if k.endswith("_rate")} == {
        "pickup_rate": None,
        "retention_rate": None,
    }
    assert all(v == 0 for k, v in summary.items() if not k.endswith("_rate"))


def test_summary_derives_pickup_due_and_the_rates() -> None:
    tallies = [
        counts(released_in_treatment=1, picked_up=1, retention_due=1, retained_12w=1),
        counts(released_in_treatment=1, picked_up=1, retention_due=1),
        counts(released_in_treatment=1, picked_up=1),
        counts(released_in_treatment=1),
        counts(released_in_treatment=1, awaiting_pickup=1),
        counts(released_in_treatment=1, excluded=1),
        ZERO,
    ]
    summary = summarise(tallies)
    assert summary["released_in_treatment"] == 6
    assert summary["pickup_due"] == 4
    assert summary["pickup_rate"] == pytest.approx(3 / 4)
    assert summary["retention_rate"] == pytest.approx(1 / 2)


def test_the_national_figures_come_out() -> None:
    # 2019-20: 25,255 released in treatment, 8,708 picked up (34.5%).
    picked = [counts(released_in_treatment=1, picked_up=1)] * 8708
    missed = [counts(released_in_treatment=1)] * (25255 - 8708)
    summary = summarise([*picked, *missed])
    assert summary["pickup_due"] == 25255
    assert round(float(summary["pickup_rate"] or 0) * 100, 1) == 34.5


def test_with_rates_takes_the_sums_a_store_adds_up() -> None:
    sums = dict.fromkeys(COUNT_NAMES, 0) | {"released_in_treatment": 4, "picked_up": 1}
    assert with_rates(sums) == summarise(
        [counts(released_in_treatment=1, picked_up=1), *[counts(released_in_treatment=1)] * 3]
    )
