"""an identifier is held only while a counting event carries it

Revision ID: 0080
Revises: 0050
Create Date: 2026-12-07

Each identifier counts the person's counting events (neither superseded nor retracted) that
carry it (`carriers`); an identifier no counting event carries is released, its row deleted
(CONTRACT §3.1, added 2026-12-07). This counts them from the stored events and deletes the
identifiers nothing carries any longer: those that only retracted, corrected-away or
late-arriving superseded events named. People stored before the rule that hold two values of
one scheme keep both; people whose counting events no longer share identifiers are split only
when one of their events next stops counting (see docs/identity.md).

It reads every counting event once: run it before the new version starts taking posts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0080"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNT_POSTGRESQL = sa.text(
    "UPDATE identifier SET carriers = counted.n FROM ("
    " SELECT e.person_id, k.key AS scheme, k.value AS value, count(*) AS n"
    " FROM event AS e CROSS JOIN LATERAL json_each_text(e.person) AS k"
    " WHERE e.superseded_by IS NULL AND e.retracted_at IS NULL"
    " GROUP BY e.person_id, k.key, k.value) AS counted"
    " WHERE identifier.scheme = counted.scheme AND identifier.value = counted.value"
    " AND identifier.person_id = counted.person_id"
)
_COUNT_SQLITE = sa.text(
    "UPDATE identifier SET carriers = (SELECT count(*) FROM event AS e, json_each(e.person) AS k"
    " WHERE e.person_id = identifier.person_id AND k.key = identifier.scheme"
    " AND k.value = identifier.value AND e.superseded_by IS NULL AND e.retracted_at IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("identifier") as batch_op:
        batch_op.add_column(
            sa.Column("carriers", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    bind = op.get_bind()
    bind.execute(_COUNT_POSTGRESQL if bind.dialect.name == "postgresql" else _COUNT_SQLITE)
    bind.execute(sa.text("DELETE FROM identifier WHERE carriers = 0"))


def downgrade() -> None:
    with op.batch_alter_table("identifier") as batch_op:
        batch_op.drop_column("carriers")
