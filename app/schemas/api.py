"""Response and request shapes, for validation of small bodies and for the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.audit import AuditEntry

Stage = Literal[
    "not_in_cohort",
    "excluded",
    "awaiting_pickup",
    "not_picked_up",
    "in_treatment",
    "disengaged",
    "retained_12w",
]
FlagCode = Literal["no_ost", "no_naloxone", "no_licence_condition", "no_referral", "not_picked_up"]
EventType = Literal[
    "prison.reception",
    "prison.treatment.started",
    "prison.treatment.ended",
    "prison.released",
    "ost.prescribed",
    "naloxone.issued",
    "licence.activated",
    "licence.inactivated",
    "community.referral.received",
    "community.treatment.started",
    "community.treatment.exited",
    "person.died",
    "person.identified",
]
# Free text may hold any character but NUL, which PostgreSQL cannot store.
NO_NUL = r"^[^\x00]*$"


class Problem(BaseModel):
    type: str = Field(description="Ends in a stable slug, e.g. /problems/identity-conflict")
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For validation errors: [{loc, msg}]"
    )


class EventAccepted(BaseModel):
    event_id: str
    status: Literal["accepted", "duplicate"]
    person_id: str | None
    dry_run: bool | None = None


class DomainEventAnswer(BaseModel):
    """What became of an HMPPS domain event (CONTRACT §8)."""

    status: Literal["accepted", "duplicate", "ignored", "pending"]
    events: list[str] = Field(description="the joinup event ids it made (or will make)")
    reason: str | None = Field(None, description="why it was ignored or is pending")


class BatchItem(BaseModel):
    index: int
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    person_id: str | None = None
    problem: Problem | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    stored: bool = Field(
        description="False when nothing was stored: an atomic batch was refused, or a dry run"
    )
    results: list[BatchItem]
    dry_run: bool | None = None


class Retraction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)


class EventRead(BaseModel):
    event_id: str
    type: str
    occurred_on: date
    person: dict[str, str]
    data: dict[str, Any]
    corrects: str | None
    person_id: str
    received_at: datetime
    superseded_by: str | None
    retracted: bool
    retracted_at: datetime | None
    retraction_reason: str | None


class EventPage(BaseModel):
    """A page of the events the caller's organisation posted, oldest received first."""

    items: list[EventRead] = Field(description="The events, in the order they were received")
    next_cursor: str | None = Field(
        description="Send as `cursor` for the next page (it carries `since` and `type`); null "
        "on the last page"
    )


class FlagRead(BaseModel):
    code: FlagCode
    raised_on: date
    resolved_on: date | None
    open: bool


class JoinUpRecordRead(BaseModel):
    release_id: str
    person_id: str
    identifiers: dict[str, str]
    released_on: date
    prison: str
    release_type: str
    local_authority: str | None
    probation_region: str | None
    community_provider: str | None
    in_treatment_at_release: bool
    substance_group: str | None
    on_ost: bool | None
    stage: Stage
    excluded_reason: str | None
    pickup_due_by: date
    picked_up_on: date | None
    late_pickup_on: date | None
    retention_due_on: date | None
    retained_12w: bool | None
    flags: list[FlagRead]
    as_of: date


class HandoverRecordRead(JoinUpRecordRead):
    """A join-up record as the handover view shows it, with what probation asks next."""

    picked_up_by: str | None = Field(
        description="The community provider whose treatment start gave `picked_up_on` (or, "
        "for a late pickup, `late_pickup_on`): the `provider` of that "
        "`community.treatment.started` (the first by code when several providers started "
        "treatment that day, whatever order their events arrived in); null when there is none"
    )
    pickup_days_left: int | None = Field(
        description="While the pickup window is open (stage `awaiting_pickup`): the days from "
        "`as_of` to `pickup_due_by`, 0 on its last day; null otherwise"
    )


class PersonView(BaseModel):
    person_id: str
    identifiers: dict[str, str]
    as_of: date
    releases: list[HandoverRecordRead] = Field(description="Newest release first")


class TimelineEvent(BaseModel):
    event_id: str
    org: str
    type: str
    occurred_on: date
    data: dict[str, Any]
    corrects: str | None
    received_at: datetime


class Timeline(BaseModel):
    person_id: str
    identifiers: dict[str, str]
    events: list[TimelineEvent] = Field(description="Counting events, oldest first")


class ReleasePage(BaseModel):
    items: list[JoinUpRecordRead]
    next_cursor: str | None


class Counts(BaseModel):
    released_in_treatment: int
    excluded: int
    awaiting_pickup: int
    pickup_due: int
    picked_up: int
    pickup_rate: float | None
    retention_due: int
    retained_12w: int
    retention_rate: float | None
    on_ost: int
    no_ost: int
    opiate: int
    no_naloxone: int
    supervised: int
    no_licence_condition: int
    no_referral: int


class GroupCounts(Counts):
    group: str | None


class Metrics(BaseModel):
    as_of: date
    released_from: date | None
    released_to: date | None
    group_by: str | None
    rows: list[GroupCounts]
    total: Counts


class StoredEvent(EventRead):
    org: str


class IdentifierRead(BaseModel):
    scheme: str
    value: str


class SubjectExport(BaseModel):
    person_id: str
    identifiers: dict[str, str]
    all_identifiers: list[IdentifierRead] = Field(
        description="Every identifier that names the person (a scheme may have several)"
    )
    as_of: date = Field(description="Today: the date of the records")
    events: list[StoredEvent] = Field(
        description="Every stored event, counting or not, oldest first"
    )
    releases: list[JoinUpRecordRead] = Field(description="As of today, newest release first")
    audit: list[AuditEntry] = Field(description="Every audit row about the person, newest first")
