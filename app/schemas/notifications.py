"""Wire shapes of subscriptions and changes (CONTRACT §7)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from app.schemas.api import NO_NUL, FlagCode, Stage
from app.schemas.keys import LocalAuthorities, PrisonCodes, ProbationRegions, ScopeValues

ChangeType = Literal[
    "record.created", "record.stage_changed", "record.flag_raised", "record.flag_resolved"
]
SubscriptionStatus = Literal["active", "failing", "disabled"]
_SOME = Field(min_length=1, max_length=1000)


# The feed's query: an empty value is the default (as a form left blank sends it), and `types`
# may repeat, list several with commas, or both. Each schema says what is taken, so that a
# client generated from it sends what the feed accepts.
def _blank_is(default: object) -> BeforeValidator:
    return BeforeValidator(lambda given: default if given == "" else given)


def _each_type(given: Any) -> Any:
    if not isinstance(given, list):
        return given
    parts = (part for value in given for part in str(value).split(","))
    return list(dict.fromkeys(part for part in parts if part))


_ONE_TYPE = "|".join(re.escape(kind) for kind in get_args(ChangeType))
_LISTED_TYPES = f"^,*(({_ONE_TYPE})(,+({_ONE_TYPE}))*)?,*$"
ChangeAfter = Annotated[
    str,
    _blank_is("0"),
    Field(pattern=r"^[0-9]{1,18}$"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{0,18}$"}),
]
ChangePageSize = Annotated[
    int,
    _blank_is(100),
    Field(ge=1, le=1000),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 1000},
                {"type": "string", "maxLength": 0},
            ]
        }
    ),
]
ChangeTypes = Annotated[
    list[
        Annotated[
            ChangeType,
            WithJsonSchema(
                {
                    "anyOf": [
                        {"type": "string", "enum": list(get_args(ChangeType))},
                        {"type": "string", "pattern": _LISTED_TYPES},
                    ]
                }
            ),
        ]
    ],
    BeforeValidator(_each_type),
]


class SubscriptionFilter(BaseModel):
    """Which changes to receive: in every dimension given, the change's value must be one of
    those listed. `stages`: the record's stage after the change. `flags`: a flag change of one
    of these codes, or another change while one of them is open."""

    model_config = ConfigDict(extra="forbid")

    prisons: PrisonCodes | None = None
    probation_regions: ProbationRegions | None = None
    local_authorities: LocalAuthorities | None = None
    community_providers: ScopeValues | None = None
    stages: Annotated[list[Stage], _SOME] | None = None
    flags: Annotated[list[FlagCode], _SOME] | None = None


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        pattern=NO_NUL,
        description="https, on a public address (JOINUP_WEBHOOK_ALLOW_INSECURE=1 also allows "
        "http and loopback or private addresses, for development)",
    )
    types: Annotated[list[ChangeType], _SOME] | None = Field(
        default=None, description="The change types to receive; all four when left out"
    )
    filter: SubscriptionFilter = Field(default_factory=SubscriptionFilter)


class LastDelivery(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    delivered: bool


class SubscriptionRead(BaseModel):
    subscription_id: str
    org: str
    url: str
    types: list[ChangeType]
    filter: dict[str, list[str]]
    scope: dict[str, list[str]] | None = Field(
        description="The scope of the key that made it; it narrows every change sent"
    )
    status: SubscriptionStatus
    disabled_reason: Literal["failed_for_3_days", "key_revoked"] | None = Field(
        description="Why it is disabled: its deliveries failed for 3 days (`POST .../enable` "
        "sends them again), or the key that made it was revoked (nothing more is sent; "
        "subscribe again with an active key); null unless disabled"
    )
    created_at: datetime
    last_delivery: LastDelivery | None


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(
        description="`whsec_` + base64: the signing secret, shown once, now; keep it safe"
    )


class DeliveryAttempt(BaseModel):
    change_id: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class ChangedFlag(BaseModel):
    code: FlagCode
    raised_on: date | None
    resolved_on: date | None


class ChangeRead(BaseModel):
    change_id: str = Field(description="Digits; a later change has a larger number")
    type: ChangeType
    changed_at: datetime
    effective_on: date
    release_id: str
    person_id: str
    identifiers: dict[str, str]
    prison: str
    probation_region: str | None
    local_authority: str | None
    community_provider: str | None
    released_on: date
    stage: Stage
    previous_stage: Stage | None = Field(default=None, description="Stage changes only")
    flag: ChangedFlag | None = Field(default=None, description="Flag changes only")


class ChangePage(BaseModel):
    items: list[ChangeRead]
    next_after: str = Field(description="Pass as `after` for the next changes")


def filter_of(body: SubscriptionCreate) -> dict[str, Any]:
    return body.filter.model_dump(exclude_none=True)
