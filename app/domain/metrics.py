"""Continuity metrics (CONTRACT §5): what one record contributes, and the sums over many.

A record's contribution is a `Tally` of 0/1 counts, so a store can keep it beside the record
and answer any grouping with plain sums; `summarise` adds the derived counts and rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Final

from app.domain.gaps import OPIATE
from app.domain.records import JoinUpRecord
from app.domain.vocabulary import SUPERVISED_RELEASE_TYPES, FlagCode, Stage


@dataclass(frozen=True, slots=True)
class Tally:
    released_in_treatment: int
    excluded: int
    awaiting_pickup: int
    picked_up: int
    retention_due: int
    retained_12w: int
    on_ost: int
    no_ost: int
    opiate: int
    no_naloxone: int
    supervised: int
    no_licence_condition: int
    no_referral: int


COUNT_NAMES: Final = tuple(field.name for field in fields(Tally))
SUMMARY_NAMES: Final = (
    "released_in_treatment",
    "excluded",
    "awaiting_pickup",
    "pickup_due",
    "picked_up",
    "pickup_rate",
    "retention_due",
    "retained_12w",
    "retention_rate",
    "on_ost",
    "no_ost",
    "opiate",
    "no_naloxone",
    "supervised",
    "no_licence_condition",
    "no_referral",
)


def tally(record: JoinUpRecord) -> Tally:
    """What `record` adds to each count of §5's metrics table."""
    # Counted: in the cohort and not excluded, the denominator population of every rate.
    counted = record.stage not in (Stage.NOT_IN_COHORT, Stage.EXCLUDED)
    picked_up = counted and record.picked_up_on is not None
    due = record.retention_due_on
    listed = {flag.code for flag in record.flags}  # raised by as_of, open or resolved
    return Tally(
        released_in_treatment=int(record.stage != Stage.NOT_IN_COHORT),
        excluded=int(record.stage == Stage.EXCLUDED),
        awaiting_pickup=int(record.stage == Stage.AWAITING_PICKUP),
        picked_up=int(picked_up),
        retention_due=int(picked_up and due is not None and record.as_of >= due),
        retained_12w=int(record.stage == Stage.RETAINED_12W),
        on_ost=int(counted and bool(record.on_ost)),
        no_ost=int(counted and FlagCode.NO_OST in listed),
        opiate=int(counted and record.substance_group == OPIATE),
        no_naloxone=int(counted and FlagCode.NO_NALOXONE in listed),
        supervised=int(counted and record.release_type in SUPERVISED_RELEASE_TYPES),
        no_licence_condition=int(counted and FlagCode.NO_LICENCE_CONDITION in listed),
        no_referral=int(counted and FlagCode.NO_REFERRAL in listed),
    )


def summarise(tallies: Iterable[Tally]) -> dict[str, int | float | None]:
    """Every count of §5's table over these records, in the table's order."""
    sums = dict.fromkeys(COUNT_NAMES, 0)
    for one in tallies:
        for name in COUNT_NAMES:
            sums[name] += getattr(one, name)
    return with_rates(sums)


def with_rates(sums: Mapping[str, int]) -> dict[str, int | float | None]:
    """§5's table from the sums of the tally counts (as a store adds them up), in its order.

    A rate is None when its base is 0: no one was due, which is not a rate of 0.
    """
    pickup_due = sums["released_in_treatment"] - sums["excluded"] - sums["awaiting_pickup"]
    every: dict[str, int | float | None] = {
        **{name: sums[name] for name in COUNT_NAMES},
        "pickup_due": pickup_due,
        "pickup_rate": _rate(sums["picked_up"], pickup_due),
        "retention_rate": _rate(sums["retained_12w"], sums["retention_due"]),
    }
    return {name: every[name] for name in SUMMARY_NAMES}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
