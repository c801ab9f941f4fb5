"""Wire models of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

What = Literal[
    "READ_PERSON",
    "READ_TIMELINE",
    "READ_EVENT",
    "READ_RELEASES",
    "EXPORT_RELEASES_CSV",
    "READ_METRICS",
    "EXPORT_SUBJECT",
    "READ_AUDIT",
    "POST_EVENTS",
    "READ_EVENTS",
    "RETRACT_EVENT",
    "KEY_CREATED",
    "KEY_REVOKED",
    "KEY_SCOPE_CHANGED",
    "KEY_TYPES_CHANGED",
    "READ_CHANGES",
    "DELIVER_CHANGES",
    "SUBSCRIPTION_CREATED",
    "SUBSCRIPTION_DELETED",
    "SUBSCRIPTION_ENABLED",
    "HMPPS_EVENT",
    "HMPPS_SUBSCRIPTION",
    "SIGN_IN",
    "SIGN_OUT",
]


class AuditEntry(BaseModel):
    """One audit row, with the field names of the HMPPS audit service, so it can be forwarded."""

    what: What
    who: str | None = Field(description="The key id; null for the console")
    when: datetime
    subjectId: str | None = Field(
        description="A person id, event id or key id; null for a query over many"
    )
    subjectType: (
        Literal["person", "query", "event", "events", "key", "session", "subscription"] | None
    )
    correlationId: str | None = Field(
        description="The id the server gave the request (the answer's X-Request-ID header)"
    )
    callerRequestId: str | None = Field(
        description="What the caller sent as X-Request-ID, if anything: the caller's word only"
    )
    service: Literal["joinup"]
    details: dict[str, Any] = Field(
        description="Always `org` (the caller's organisation) and `outcome` (`ok`, `not-found`, "
        "`interrupted`, `stored`, `refused`); then what the action read or changed: a "
        "person read's identifier `scheme` (never its value), `as_of` and `release_ids`; a "
        "query's `filters`, `rows` and, for lists, the `person_ids` shown"
    )


class AuditPage(BaseModel):
    items: list[AuditEntry] = Field(description="Newest first")
    next_cursor: str | None
