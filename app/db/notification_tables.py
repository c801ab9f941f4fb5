"""The tables of change notifications (CONTRACT §7): the outbox of changes, the comparisons
and sweeps that find them, subscriptions, and their deliveries and attempts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.tables import Base, BigId, UtcDateTime


class ChangeRow(Base):
    """A change of a release's record as of today (CONTRACT §7): the outbox. Rows are written in
    the transaction of the write that caused them, with ids in commit order
    (app/db/changes.py), and never updated."""

    __tablename__ = "change"

    change_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    release_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # What scopes and filters compare: the release's values, its stage, the flag changed and the
    # flags open after the change (app.domain.vocabulary.FLAG_BITS).
    prison: Mapped[str] = mapped_column(String(16))
    probation_region: Mapped[str | None] = mapped_column(String(100))
    local_authority: Mapped[str | None] = mapped_column(String(64))
    community_provider: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20))
    flag: Mapped[str | None] = mapped_column(String(32))
    open_flags: Mapped[int] = mapped_column(SmallInteger)
    # The change as sent, but its id.
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReleaseNoticeRow(Base):
    """The as-of date of the last comparison of a release's record: changes found so far are
    those between its record as of then and every earlier one."""

    __tablename__ = "release_notice"

    release_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    compared_on: Mapped[date] = mapped_column(Date)


class ChangeSweepRow(Base):
    """The one row the hourly look for time-driven changes locks, and the day it last looked."""

    __tablename__ = "change_sweep"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    swept_on: Mapped[date | None] = mapped_column(Date)


class SubscriptionRow(Base):
    __tablename__ = "subscription"

    subscription_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org: Mapped[str] = mapped_column(String(64), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    # The scope of the key that made it, when made; the key's scope now narrows it too.
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(Text)
    types: Mapped[list[str]] = mapped_column(JSON)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(Text)  # encrypted (app/services/notifications/secrets)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Changes up to this id have been matched against the subscription.
    matched_upto: Mapped[int] = mapped_column(BigInteger)
    delivered: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryRow(Base):
    """A change a subscription is to receive, until it has."""

    __tablename__ = "delivery"
    __table_args__ = (
        # A person's earlier change not yet delivered holds back the later ones.
        Index("ix_delivery_order", "subscription_id", "person_id", "change_id"),
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
    )

    subscription_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    change_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A worker sending it holds it until then; one that died lets it go then.
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempt"
    __table_args__ = (Index("ix_delivery_attempt_subscription", "subscription_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(32))
    change_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
