"""The tables. Migrations are written by hand from these and checked against them by a test."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only makes an INTEGER PRIMARY KEY an alias of the rowid (and so autoincrementing).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that comes back with its UTC offset on both databases.

    SQLite has no time zones: it hands back what it stored without the offset, so a value read
    there is marked UTC, as every value joinup writes is.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table(model: type[Base]) -> Table:
    """The Core table of a mapped class, for the repositories' Core statements."""
    found = model.__table__
    assert isinstance(found, Table)
    return found


class ApiKeyRow(Base):
    __tablename__ = "api_key"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org: Mapped[str] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None: the key sees everything its roles allow. Otherwise {"prisons": [...],
    # "probation_regions": [...], "local_authorities": [...], "community_providers": [...]}.
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The event types a submitter key may post, correct and retract (CONTRACT §2.1); None for
    # keys without the submitter role.
    event_types: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PersonRow(Base):
    __tablename__ = "person"

    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdentifierRow(Base):
    __tablename__ = "identifier"

    scheme: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    # How many of the person's counting events carry it: at 0 it is released (the row deleted).
    carriers: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class EventRow(Base):
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("org", "event_id"),
        # An event can be corrected once: a second correction of it cannot be stored.
        UniqueConstraint("org", "corrects"),
        # The correction chains a late arrival joins (app.db.events.people_of_chains). Only a
        # correction's chain starts at another event, so the index holds corrections alone.
        Index(
            "ix_event_correction_root",
            "org",
            "root_event_id",
            postgresql_where=text("corrects IS NOT NULL"),
            sqlite_where=text("corrects IS NOT NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # PostgreSQL gathers no planner statistics of it (migration 0005).
    org: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    root_event_id: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date] = mapped_column(Date)
    person: Mapped[dict[str, Any]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    corrects: Mapped[str | None] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    superseded_by: Mapped[str | None] = mapped_column(String(128))
    retracted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retraction_reason: Mapped[str | None] = mapped_column(Text)


class EventClaimRow(Base):
    """An event id that some post has named, as its own id or as the one it corrects: the row a
    writer locks to have that id to itself until it commits (app.db.locks.lock_events). Empty
    on SQLite, whose writers never overlap."""

    __tablename__ = "event_claim"

    org: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)


OPEN_INCLUDES = (
    "valid_from",
    "prison",
    "probation_region",
    "local_authority",
    "community_provider",
    "tally",
)


class ReleaseVersionRow(Base):
    """One release's join-up record over a range of as-of dates [valid_from, valid_until)."""

    __tablename__ = "release_version"
    __table_args__ = (
        Index("ix_release_version_order", "released_on", "release_id"),
        Index("ix_release_version_valid_until", "valid_until"),
        # Most releases' record as of today is their last, open-ended version: metrics over a
        # year read those from this index alone.
        Index(
            "ix_release_version_open",
            "released_on",
            postgresql_include=[*OPEN_INCLUDES],
            postgresql_where=text("valid_until IS NULL"),
            sqlite_where=text("valid_until IS NULL"),
        ),
    )

    release_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_until: Mapped[date | None] = mapped_column(Date)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.person_id"), index=True)
    released_on: Mapped[date] = mapped_column(Date)
    prison: Mapped[str] = mapped_column(String(16))
    release_type: Mapped[str] = mapped_column(String(32))
    local_authority: Mapped[str | None] = mapped_column(String(64))
    probation_region: Mapped[str | None] = mapped_column(String(100))
    community_provider: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20))
    open_flags: Mapped[int] = mapped_column(SmallInteger)
    # The record's 0/1 contributions to the metrics, one bit each (see app/db/release_metrics.py):
    # metrics count releases per (group, tally), a single cheap aggregate.
    tally: Mapped[int] = mapped_column(Integer)
    # The whole record over the range (every field of the handover view but the release id,
    # the person and the as-of date), so that reads show it without deriving it again. NULL
    # in versions stored before migration 0004: those are derived when read.
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditRow(Base):
    """Append-only: the application inserts audit rows and never updates or deletes them."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    key_id: Mapped[str | None] = mapped_column(String(32))
    org: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(20))
    # The server's own id of the request; the caller's X-Request-ID, if any, apart.
    request_id: Mapped[str | None] = mapped_column(String(64))
    caller_request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebSessionRow(Base):
    """A signed-in browser (app/services/sessions.py): the hash of its cookie's token, the key it
    signed in with, the token its forms carry against cross-site requests, and when it ends."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_key.key_id"), index=True)
    form_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class HmppsPendingRow(Base):
    """An HMPPS domain event kept until it can be stored (CONTRACT §8): its licence could not be
    read from CVL yet. Keyed by the joinup event it will make, so it is kept once however often
    it is delivered; deleted in the transaction that stores that event."""

    __tablename__ = "hmpps_pending"

    org: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(200))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HmppsTallyRow(Base):
    """HMPPS domain events taken in, by eventType (`other` for types joinup does not use) and
    outcome: what /metrics shows. Kept here, not in a process's memory, because the server,
    `joinup hmpps consume` and `joinup worker` each take some in, and any server's /metrics
    shows them all."""

    __tablename__ = "hmpps_tally"

    event_type: Mapped[str] = mapped_column(String(200), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)
