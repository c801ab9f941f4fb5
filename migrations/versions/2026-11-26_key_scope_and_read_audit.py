"""key scope and read audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.add_column(sa.Column("scope", sa.JSON(), nullable=True))
    with op.batch_alter_table("audit") as batch_op:
        batch_op.add_column(sa.Column("subject_type", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_subject"))
        batch_op.drop_column("request_id")
        batch_op.drop_column("subject_type")
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.drop_column("scope")
