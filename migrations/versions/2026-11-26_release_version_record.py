"""each release version keeps its whole record

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

A gap-list page and a handover view read each release's record as stored with its version,
instead of deriving every person on the page again. Versions stored before this revision
have no record (NULL); those are still derived when read, until the person's next event
stores them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("release_version", sa.Column("record", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("release_version") as batch_op:
        batch_op.drop_column("record")
