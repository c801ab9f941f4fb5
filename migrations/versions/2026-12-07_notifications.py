"""changes, subscriptions and their deliveries

Revision ID: 0050
Revises: 0060
Create Date: 2026-12-07

The outbox of changes to release records (CONTRACT §7), the as-of date each release was last
compared on, the row the hourly look for time-driven changes locks, webhook subscriptions, the
deliveries each is owed, and the log of delivery attempts. Releases stored before this revision
have no comparison date: their first comparison starts from their record as of that day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0050"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "change",
        sa.Column("change_id", _ID, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("release_id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("changed_at", _AT, nullable=False),
        sa.Column("prison", sa.String(16), nullable=False),
        sa.Column("probation_region", sa.String(100), nullable=True),
        sa.Column("local_authority", sa.String(64), nullable=True),
        sa.Column("community_provider", sa.String(100), nullable=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("flag", sa.String(32), nullable=True),
        sa.Column("open_flags", sa.SmallInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_change")),
    )
    op.create_index(op.f("ix_change_person_id"), "change", ["person_id"])
    op.create_table(
        "release_notice",
        sa.Column("release_id", sa.String(36), nullable=False),
        sa.Column("compared_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_release_notice")),
    )
    op.create_table(
        "change_sweep",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("swept_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_sweep")),
    )
    op.create_table(
        "subscription",
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("deleted_at", _AT, nullable=True),
        sa.Column("matched_upto", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_at", _AT, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_subscription")),
    )
    op.create_index(op.f("ix_subscription_org"), "subscription", ["org"])
    op.create_table(
        "delivery",
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _AT, nullable=False),
        sa.Column("leased_until", _AT, nullable=True),
        sa.Column("first_failed_at", _AT, nullable=True),
        sa.Column("delivered_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("subscription_id", "change_id", name=op.f("pk_delivery")),
    )
    op.create_index("ix_delivery_order", "delivery", ["subscription_id", "person_id", "change_id"])
    op.create_index(
        "ix_delivery_due",
        "delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )
    op.create_table(
        "delivery_attempt",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempt")),
    )
    op.create_index(
        "ix_delivery_attempt_subscription", "delivery_attempt", ["subscription_id", "id"]
    )


def downgrade() -> None:
    for name in (
        "delivery_attempt",
        "delivery",
        "subscription",
        "change_sweep",
        "release_notice",
        "change",
    ):
        op.drop_table(name)
