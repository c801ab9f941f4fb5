"""The event envelope and the `data` of each event type (CONTRACT §3.1, §3.2).

Validation is strict where leniency would store something the sender did not mean: dates are
`YYYY-MM-DD` strings, booleans are JSON booleans, strings are strings, unknown fields are refused.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from app.domain import identifiers
from app.schemas.fields import (
    Day,
    EventId,
    LocalAuthority,
    PrisonCode,
    ProbationRegion,
    Text,
    checked,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _identifier(scheme: str) -> Any:
    return checked(lambda value: identifiers.validate(scheme, value))


Identifier = Annotated[str, StringConstraints(strict=True, max_length=40)]


class PersonIdentifiers(Strict):
    nomis: Annotated[Identifier, _identifier("nomis")] | None = None
    crn: Annotated[Identifier, _identifier("crn")] | None = None
    nhs: Annotated[Identifier, _identifier("nhs")] | None = None
    pnc: Annotated[Identifier, _identifier("pnc")] | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> PersonIdentifiers:
        if not self.known:
            raise ValueError("give at least one identifier: nomis, crn, nhs or pnc")
        return self

    @cached_property
    def known(self) -> dict[str, str]:
        """The identifiers given, as {scheme: normalised value}, in the order of SCHEMES; not
        to be changed (the model is frozen, so this is worked out once, and a batch asks each
        event's identifiers several times)."""
        # Read field by field: model_dump() was a measurable share of a batch's decisions.
        given = ((scheme, getattr(self, scheme)) for scheme in identifiers.SCHEMES)
        return {scheme: value for scheme, value in given if value is not None}


class PrisonReceptionData(Strict):
    prison: PrisonCode
    reason: Literal["sentenced", "remand", "recall", "other"] | None = None


class PrisonTreatmentStartedData(Strict):
    prison: PrisonCode
    substance_group: Literal["opiate", "non_opiate_only", "non_opiate_and_alcohol", "alcohol_only"]
    on_ost: StrictBool = False


class PrisonTreatmentEndedData(Strict):
    reason: Literal["completed", "declined", "transferred", "released", "other"] | None = None


ReleaseType = Literal[
    "conditional_release",
    "hdc",
    "post_recall_release",
    "pss",
    "ecsl",
    "end_of_sentence",
    "remand",
    "deported",
    "hospital",
    "died_in_custody",
    "other",
]


class PrisonReleasedData(Strict):
    prison: PrisonCode
    release_type: ReleaseType
    local_authority: LocalAuthority | None = None
    probation_region: ProbationRegion | None = None
    community_provider: Text | None = None


class OstPrescribedData(Strict):
    medication: Literal["methadone", "buprenorphine", "buprenorphine_prolonged_release", "other"]
    first_dose_on: Day


class NaloxoneIssuedData(Strict):
    setting: Literal["prison", "community"] | None = None


class LicenceCondition(Strict):
    category: Literal["drug_testing", "drug_appointment", "drug_treatment", "alcohol", "other"]
    code: Text | None = None


class LicenceActivatedData(Strict):
    licence_id: Text
    conditions: Annotated[list[LicenceCondition], Field(max_length=100)]


class LicenceInactivatedData(Strict):
    licence_id: Text


class ProviderData(Strict):
    provider: Text


class CommunityTreatmentExitedData(Strict):
    provider: Text
    reason: Literal[
        "completed",
        "dropped_out",
        "declined",
        "transferred",
        "returned_to_custody",
        "died",
        "other",
    ]


class PersonDiedData(Strict):
    drug_related: StrictBool | None = None


class PersonIdentifiedData(Strict):
    """Nothing: the event's identifiers are its whole content."""


class _Envelope(Strict):
    event_id: EventId
    occurred_on: Day
    person: PersonIdentifiers
    corrects: EventId | None = None


class PrisonReception(_Envelope):
    type: Literal["prison.reception"]
    data: PrisonReceptionData


class PrisonTreatmentStarted(_Envelope):
    type: Literal["prison.treatment.started"]
    data: PrisonTreatmentStartedData


class PrisonTreatmentEnded(_Envelope):
    type: Literal["prison.treatment.ended"]
    data: PrisonTreatmentEndedData = PrisonTreatmentEndedData()


class PrisonReleased(_Envelope):
    type: Literal["prison.released"]
    data: PrisonReleasedData


class OstPrescribed(_Envelope):
    type: Literal["ost.prescribed"]
    data: OstPrescribedData


class NaloxoneIssued(_Envelope):
    type: Literal["naloxone.issued"]
    data: NaloxoneIssuedData = NaloxoneIssuedData()


class LicenceActivated(_Envelope):
    type: Literal["licence.activated"]
    data: LicenceActivatedData


class LicenceInactivated(_Envelope):
    type: Literal["licence.inactivated"]
    data: LicenceInactivatedData


class CommunityReferralReceived(_Envelope):
    type: Literal["community.referral.received"]
    data: ProviderData


class CommunityTreatmentStarted(_Envelope):
    type: Literal["community.treatment.started"]
    data: ProviderData


class CommunityTreatmentExited(_Envelope):
    type: Literal["community.treatment.exited"]
    data: CommunityTreatmentExitedData


class PersonDied(_Envelope):
    type: Literal["person.died"]
    data: PersonDiedData = PersonDiedData()


class PersonIdentified(_Envelope):
    type: Literal["person.identified"]
    data: PersonIdentifiedData = PersonIdentifiedData()


EventCreate = Annotated[
    PrisonReception
    | PrisonTreatmentStarted
    | PrisonTreatmentEnded
    | PrisonReleased
    | OstPrescribed
    | NaloxoneIssued
    | LicenceActivated
    | LicenceInactivated
    | CommunityReferralReceived
    | CommunityTreatmentStarted
    | CommunityTreatmentExited
    | PersonDied
    | PersonIdentified,
    Field(discriminator="type"),
]
"""One event as a provider posts it; `type` selects the shape of `data`."""

EVENT_ADAPTER: TypeAdapter[EventCreate] = TypeAdapter(EventCreate)
