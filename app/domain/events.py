"""The form in which the rules receive events (their types: app/domain/vocabulary.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

DRUG_CONDITION_CATEGORIES: Final = frozenset({"drug_testing", "drug_appointment", "drug_treatment"})


@dataclass(frozen=True, slots=True)
class Event:
    """One counting event of a person, as the rules see it.

    `data` has been validated against its type and carries its defaults. `seq` is the arrival
    order (larger means received later); the rules use it only where two release events of a
    person share a date. `lineage` names the event's correction chain and stays the same when
    the event is corrected, so a release keeps its identity through corrections.
    """

    seq: int
    type: str
    occurred_on: date
    data: Mapping[str, Any]
    lineage: str
