"""event ids claimed by row locks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

A writer used to take an advisory lock per event id it named, on 64 locks per organisation
(PostgreSQL's shared lock table holds about 64 a connection). A 1,000-event batch held all 64
of them, so an organisation's batches were applied one after another: posting 20,000 people,
the other organisations' batches went in at 11,000 events/s and the last third, all HMPPS's
and HMPPS-CVL's, at 4,900. A writer now locks one row per event id here instead
(`app.db.locks.lock_events`). Row locks live in the rows, not in the shared lock table, so a
batch can hold one per event: an organisation's batches wait for each other only where they
name the same event.

The table starts empty. An id gets its row the first time a post names it after this revision,
events stored before it included.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_claim",
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("org", "event_id", name=op.f("pk_event_claim")),
    )


def downgrade() -> None:
    op.drop_table("event_claim")
