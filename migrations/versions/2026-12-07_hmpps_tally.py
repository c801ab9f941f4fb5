"""HMPPS domain events counted by type and outcome

Revision ID: 0130
Revises: 0111
Create Date: 2026-12-07

/metrics counts domain events by eventType and outcome (CONTRACT §8). The server, `joinup hmpps
consume` and `joinup worker` are separate processes, so the counts are kept in the database,
where any server process's /metrics reads them all.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0130"
down_revision: str | None = "0111"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hmpps_tally",
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_type", "outcome", name=op.f("pk_hmpps_tally")),
    )


def downgrade() -> None:
    op.drop_table("hmpps_tally")
