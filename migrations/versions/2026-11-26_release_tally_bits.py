"""release tally bits and the open-version index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

The thirteen 0/1 metric columns of release_version become one bit mask, `tally`, and the
releases' open-ended versions get a covering partial index, so a year's metrics are one index
scan with a single count per (group, tally).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Bit i of `tally` is COUNTS[i]; the order is app/db/releases.py's COUNT_COLUMNS at this revision.
COUNTS = (
    "released_in_treatment",
    "excluded",
    "awaiting_pickup",
    "picked_up",
    "retention_due",
    "retained_12w",
    "on_ost",
    "no_ost",
    "opiate",
    "no_naloxone",
    "supervised",
    "no_licence_condition",
    "no_referral",
)
INCLUDES = (
    "valid_from",
    "prison",
    "probation_region",
    "local_authority",
    "community_provider",
    "tally",
)


def upgrade() -> None:
    op.add_column("release_version", sa.Column("tally", sa.Integer(), nullable=True))
    packed = " + ".join(f"{name} * {1 << bit}" for bit, name in enumerate(COUNTS))
    op.execute(f"UPDATE release_version SET tally = {packed}")
    with op.batch_alter_table("release_version") as batch_op:
        batch_op.alter_column("tally", existing_type=sa.Integer(), nullable=False)
        for name in COUNTS:
            batch_op.drop_column(name)
    op.create_index(
        "ix_release_version_open",
        "release_version",
        ["released_on"],
        unique=False,
        postgresql_include=list(INCLUDES),
        postgresql_where=sa.text("valid_until IS NULL"),
        sqlite_where=sa.text("valid_until IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_release_version_open", table_name="release_version")
    for name in COUNTS:
        op.add_column(
            "release_version",
            sa.Column(name, sa.SmallInteger(), nullable=False, server_default="0"),
        )
    assignments = ", ".join(f"{name} = (tally / {1 << bit}) % 2" for bit, name in enumerate(COUNTS))
    op.execute(f"UPDATE release_version SET {assignments}")
    with op.batch_alter_table("release_version") as batch_op:
        for name in COUNTS:
            batch_op.alter_column(name, existing_type=sa.SmallInteger(), server_default=None)
        batch_op.drop_column("tally")
