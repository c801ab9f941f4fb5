"""audit caller request id: the caller's X-Request-ID beside the server's own

Revision ID: 0111
Revises: 0110
Create Date: 2026-12-07

An audit row's `request_id` is the id the server gave the request; what the caller sent as
`X-Request-ID` is kept apart, in `caller_request_id`, so that no caller can make its requests
pass for others in the trail.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0111"
down_revision: str | None = "0110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit") as batch_op:
        batch_op.add_column(sa.Column("caller_request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch_op:
        batch_op.drop_column("caller_request_id")
