"""The pages' plain words for the contract's codes: stages, flags and what to do about them,
reasons for exclusion, event types. One entry per code of the domain's vocabularies (a unit test
holds them equal)."""

from __future__ import annotations

from typing import Final

STAGES: Final = {
    "not_in_cohort": "Not in treatment at release",
    "excluded": "Not counted",
    "awaiting_pickup": "Waiting to be picked up",
    "not_picked_up": "Not picked up in the window",
    "in_treatment": "In community treatment",
    "disengaged": "Left community treatment",
    "retained_12w": "Still in treatment at 12 weeks",
}

# What each stage asks of the reader, where it asks anything.
STAGE_STEPS: Final = {
    "awaiting_pickup": "Check the community treatment provider has an appointment booked.",
    "not_picked_up": "Contact the community treatment provider to re-engage the person.",
    "disengaged": "Ask the community treatment provider about re-engagement.",
}

FLAGS: Final = {
    "no_ost": "No opiate substitution first dose arranged for the day after release",
    "no_naloxone": "No naloxone given before release",
    "no_licence_condition": "No drug condition on the licence",
    "no_referral": "No referral to community treatment before release",
    "not_picked_up": "Not picked up by community treatment within the window",
}

FLAG_STEPS: Final = {
    "no_ost": "Contact the prescriber to arrange the first community dose.",
    "no_naloxone": "Arrange for naloxone to be given (community treatment or pharmacy).",
    "no_licence_condition": "Ask the probation practitioner to vary the licence "
    "to add a drug condition.",
    "no_referral": "Refer the person to the community treatment provider.",
    "not_picked_up": "Contact the community treatment provider and the probation practitioner.",
}

EXCLUDED_REASONS: Final = {
    "deported": "deported",
    "hospital": "released to hospital",
    "died_in_custody": "died in custody",
    "died": "died before being picked up",
    "returned_to_custody": "returned to custody before being picked up",
}

EVENTS: Final = {
    "prison.reception": "Received into prison",
    "prison.treatment.started": "Started treatment in prison",
    "prison.treatment.ended": "Treatment in prison ended",
    "prison.released": "Released from prison",
    "ost.prescribed": "Opiate substitution prescribed",
    "naloxone.issued": "Naloxone given",
    "licence.activated": "Licence activated",
    "licence.inactivated": "Licence ended",
    "community.referral.received": "Referral received by community treatment",
    "community.treatment.started": "Started community treatment",
    "community.treatment.exited": "Left community treatment",
    "person.died": "Died",
    "person.identified": "Identifiers linked",
}

SCHEMES: Final = {"nomis": "NOMIS number", "crn": "CRN", "nhs": "NHS number", "pnc": "PNC"}

GROUPS: Final = {
    "probation_region": "Probation region",
    "prison": "Prison",
    "local_authority": "Local authority",
    "month": "Month of release",
}
