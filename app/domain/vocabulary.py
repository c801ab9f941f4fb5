"""The contract's word lists, each written once.

Every other copy -- the wire's `Literal`s, the constants frozen into migrations, the pages'
words -- is checked against these by tests/unit/test_vocabularies.py, so a copy cannot drift.
The order of each enum is the contract's, and the order the API lists them in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class EventType(StrEnum):
    """What an event says happened (CONTRACT §3.2)."""

    PRISON_RECEPTION = "prison.reception"
    PRISON_TREATMENT_STARTED = "prison.treatment.started"
    PRISON_TREATMENT_ENDED = "prison.treatment.ended"
    PRISON_RELEASED = "prison.released"
    OST_PRESCRIBED = "ost.prescribed"
    NALOXONE_ISSUED = "naloxone.issued"
    LICENCE_ACTIVATED = "licence.activated"
    LICENCE_INACTIVATED = "licence.inactivated"
    COMMUNITY_REFERRAL_RECEIVED = "community.referral.received"
    COMMUNITY_TREATMENT_STARTED = "community.treatment.started"
    COMMUNITY_TREATMENT_EXITED = "community.treatment.exited"
    PERSON_DIED = "person.died"
    # Says only that its identifiers are one person: it links them and changes no record.
    PERSON_IDENTIFIED = "person.identified"


# Any of these ends a community treatment episode (rule 4).
TERMINATORS: Final = frozenset(
    {EventType.COMMUNITY_TREATMENT_EXITED, EventType.PERSON_DIED, EventType.PRISON_RECEPTION}
)


class ReleaseType(StrEnum):
    """How a person left prison (the `release_type` of prison.released)."""

    CONDITIONAL_RELEASE = "conditional_release"
    HDC = "hdc"
    POST_RECALL_RELEASE = "post_recall_release"
    PSS = "pss"
    ECSL = "ecsl"
    END_OF_SENTENCE = "end_of_sentence"
    REMAND = "remand"
    DEPORTED = "deported"
    HOSPITAL = "hospital"
    DIED_IN_CUSTODY = "died_in_custody"
    OTHER = "other"


# Released under supervision: the releases a licence condition is expected for (rule 7).
SUPERVISED_RELEASE_TYPES: Final = frozenset(
    {
        ReleaseType.CONDITIONAL_RELEASE,
        ReleaseType.HDC,
        ReleaseType.POST_RECALL_RELEASE,
        ReleaseType.PSS,
        ReleaseType.ECSL,
    }
)
# Releases that take the person out of the cohort (rule 2); the type is the excluded reason.
EXCLUDING_RELEASE_TYPES: Final = frozenset(
    {ReleaseType.DEPORTED, ReleaseType.HOSPITAL, ReleaseType.DIED_IN_CUSTODY}
)


class Stage(StrEnum):
    """Where a release's record stands (rule 6), in the order the rule tests them."""

    NOT_IN_COHORT = "not_in_cohort"
    EXCLUDED = "excluded"
    AWAITING_PICKUP = "awaiting_pickup"
    NOT_PICKED_UP = "not_picked_up"
    IN_TREATMENT = "in_treatment"
    DISENGAGED = "disengaged"
    RETAINED_12W = "retained_12w"


class FlagCode(StrEnum):
    """A gap in a release's care (rule 7), in the contract's order."""

    NO_OST = "no_ost"
    NO_NALOXONE = "no_naloxone"
    NO_LICENCE_CONDITION = "no_licence_condition"
    NO_REFERRAL = "no_referral"
    NOT_PICKED_UP = "not_picked_up"


# The bit of each flag in a stored mask of open flags: stored values, never renumbered.
FLAG_BITS: Final[dict[str, int]] = {code: 1 << bit for bit, code in enumerate(FlagCode)}


class Scheme(StrEnum):
    """The identifier schemes that name a person (CONTRACT §3.1), in the contract's order."""

    NOMIS = "nomis"
    CRN = "crn"
    NHS = "nhs"
    PNC = "pnc"


class ProbationRegion(StrEnum):
    """The twelve probation regions, in the spelling the contract stores (CONTRACT §3.1)."""

    NORTH_EAST = "North East"
    NORTH_WEST = "North West"
    YORKSHIRE_AND_THE_HUMBER = "Yorkshire and the Humber"
    GREATER_MANCHESTER = "Greater Manchester"
    EAST_MIDLANDS = "East Midlands"
    WEST_MIDLANDS = "West Midlands"
    EAST_OF_ENGLAND = "East of England"
    KENT_SURREY_AND_SUSSEX = "Kent, Surrey and Sussex"
    LONDON = "London"
    SOUTH_WEST = "South West"
    SOUTH_CENTRAL = "South Central"
    WALES = "Wales"
