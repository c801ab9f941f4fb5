"""key event types: what a submitter key may post

Revision ID: 0110
Revises: 0120
Create Date: 2026-12-07

A submitter key carries the event types it may post, correct and retract (CONTRACT §2.1). Keys
that existed before the rule keep every type; an admin narrows them with
`PUT /v1/keys/{key_id}/event_types` (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0110"
down_revision: str | None = "0120"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every event type of CONTRACT §3.2 on the day of this revision (tests/unit/test_vocabularies.py
# holds it equal to app.domain.vocabulary.EventType).
EVENT_TYPES = [
    "prison.reception",
    "prison.treatment.started",
    "prison.treatment.ended",
    "prison.released",
    "ost.prescribed",
    "naloxone.issued",
    "licence.activated",
    "licence.inactivated",
    "community.referral.received",
    "community.treatment.started",
    "community.treatment.exited",
    "person.died",
    "person.identified",
]


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.add_column(sa.Column("event_types", sa.JSON(), nullable=True))
    api_key = sa.table(
        "api_key", sa.column("roles", sa.String()), sa.column("event_types", sa.JSON())
    )
    # Roles are stored comma-separated; "submitter" is no part of any other role's name.
    op.execute(
        api_key.update()
        .where(api_key.c.roles.contains("submitter"))
        .values(event_types=EVENT_TYPES)
    )


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.drop_column("event_types")
