"""HMPPS domain events kept pending

Revision ID: 0060
Revises: 0040
Create Date: 2026-12-07

A licence activation's licence is read from CVL; while CVL or HMPPS Auth cannot be reached the
domain event is kept here, once per joinup event it will make, and retried with growing delays
(CONTRACT §8). The row is deleted in the transaction that stores the event.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0060"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hmpps_pending",
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org", "event_id", name=op.f("pk_hmpps_pending")),
    )
    op.create_index(op.f("ix_hmpps_pending_next_attempt_at"), "hmpps_pending", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hmpps_pending_next_attempt_at"), table_name="hmpps_pending")
    op.drop_table("hmpps_pending")
