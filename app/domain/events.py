"""The event vocabulary (CONTRACT §3.2) and the form in which the rules receive events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

PRISON_RECEPTION: Final = "prison.reception"
PRISON_TREATMENT_STARTED: Final = "prison.treatment.started"
PRISON_TREATMENT_ENDED: Final = "prison.treatment.ended"
PRISON_RELEASED: Final = "prison.released"
OST_PRESCRIBED: Final = "ost.prescribed"
NALOXONE_ISSUED: Final = "naloxone.issued"
LICENCE_ACTIVATED: Final = "licence.activated"
LICENCE_INACTIVATED: Final = "licence.inactivated"
COMMUNITY_REFERRAL_RECEIVED: Final = "community.referral.received"
COMMUNITY_TREATMENT_STARTED: Final = "community.treatment.started"
COMMUNITY_TREATMENT_EXITED: Final = "community.treatment.exited"
PERSON_DIED: Final = "person.died"
# Says only that its identifiers are one person: it links them and changes no record.
PERSON_IDENTIFIED: Final = "person.identified"

EVENT_TYPES: Final = (
    PRISON_RECEPTION,
    PRISON_TREATMENT_STARTED,
    PRISON_TREATMENT_ENDED,
    PRISON_RELEASED,
    OST_PRESCRIBED,
    NALOXONE_ISSUED,
    LICENCE_ACTIVATED,
    LICENCE_INACTIVATED,
    COMMUNITY_REFERRAL_RECEIVED,
    COMMUNITY_TREATMENT_STARTED,
    COMMUNITY_TREATMENT_EXITED,
    PERSON_DIED,
    PERSON_IDENTIFIED,
)

SUPERVISED_RELEASE_TYPES: Final = frozenset(
    {"conditional_release", "hdc", "post_recall_release", "pss", "ecsl"}
)
RELEASE_TYPES: Final = (
    *sorted(SUPERVISED_RELEASE_TYPES),
    "end_of_sentence",
    "remand",
    "deported",
    "hospital",
    "died_in_custody",
    "other",
)
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
