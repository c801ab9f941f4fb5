"""Wire models of API keys: their roles, the scope of releases they may read and the event
types a submitter key may post."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from app.domain.filters import Scope, scope_of
from app.schemas.api import NO_NUL, EventType
from app.schemas.fields import LocalAuthority, PrisonCode, ProbationRegion, Text

Role = Literal["submitter", "probation", "coordinator", "admin"]


def _not_empty(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("a key that can see nothing is a mistake: leave the dimension out instead")
    return values


# minItems documents what `_not_empty` checks (min_length would give pydantic's own message).
_LIMITS = Field(max_length=1000, json_schema_extra={"minItems": 1})
# Normalised as events are (app/domain/identifiers.py), so a scope names what is stored.
PrisonCodes = Annotated[list[PrisonCode], _LIMITS, AfterValidator(_not_empty)]
ProbationRegions = Annotated[list[ProbationRegion], _LIMITS, AfterValidator(_not_empty)]
LocalAuthorities = Annotated[list[LocalAuthority], _LIMITS, AfterValidator(_not_empty)]
ScopeValues = Annotated[list[Text], _LIMITS, AfterValidator(_not_empty)]


class KeyScope(BaseModel):
    """The releases a key may read; a dimension left out (or null) is not limited."""

    model_config = ConfigDict(extra="forbid")

    prisons: PrisonCodes | None = Field(default=None, description="3-letter codes")
    probation_regions: ProbationRegions | None = None
    local_authorities: LocalAuthorities | None = Field(default=None, description="ONS codes")
    community_providers: ScopeValues | None = None

    def to_scope(self) -> Scope | None:
        return scope_of(self.model_dump())


_SCOPE_DOC = (
    "A release is in scope when, in every dimension given, its value is one of those listed "
    "(AND across dimensions, OR within one). Null: unscoped, the key sees all its roles allow."
)


class ScopeUpdate(RootModel[KeyScope | None]):
    """A key's new scope, or null to unscope it."""


_TYPES_DOC = (
    "The event types a submitter key may post, correct and retract (CONTRACT §2.1): required, "
    "and not empty, for a key with the submitter role; absent (null) for other keys."
)
# Each type at most twice: a list of every type, with room for a repeat or two.
EventTypes = Annotated[list[EventType], Field(max_length=26)]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    roles: list[Role] = Field(min_length=1)
    label: str = Field(default="", max_length=200, pattern=NO_NUL)
    scope: KeyScope | None = Field(default=None, description=_SCOPE_DOC)
    event_types: EventTypes | None = Field(default=None, description=_TYPES_DOC)


class EventTypesUpdate(RootModel[EventTypes]):
    """The whole new list of event types a submitter key may post (not empty)."""


class KeyRead(BaseModel):
    key_id: str
    org: str
    roles: list[Role]
    label: str
    scope: KeyScope | None = Field(description=_SCOPE_DOC)
    event_types: list[EventType] | None = Field(description=_TYPES_DOC)
    created_at: datetime


class KeyCreated(BaseModel):
    key_id: str
    secret: str = Field(description="Shown once, now; only its hash is stored")
    org: str
    roles: list[Role]
    label: str
    scope: KeyScope | None = Field(description=_SCOPE_DOC)
    event_types: list[EventType] | None = Field(description=_TYPES_DOC)
