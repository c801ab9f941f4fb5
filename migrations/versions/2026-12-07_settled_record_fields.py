"""records outside the counted cohort show no pickup facts

Revision ID: 0030
Revises: 0007
Create Date: 2026-12-07

CONTRACT §5 (settled 2026-12-07): `picked_up_on`, `late_pickup_on`, `retention_due_on` and
`retained_12w` are null for `not_in_cohort` and `excluded` records. Versions stored before this
revision may carry them; this clears them in the stored records. Nothing else of a record, its
stage, flags or metric bits, changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = "WHERE stage IN ('not_in_cohort', 'excluded') AND record IS NOT NULL"
_POSTGRESQL = (
    "UPDATE release_version SET record = (record::jsonb || "
    """'{"picked_up_on": null, "late_pickup_on": null, "retention_due_on": null, """
    """"retained_12w": null}'::jsonb)::json """ + _WHERE
)
_SQLITE = (
    "UPDATE release_version SET record = json_set(record, '$.picked_up_on', NULL, "
    "'$.late_pickup_on', NULL, '$.retention_due_on', NULL, '$.retained_12w', NULL) " + _WHERE
)


def upgrade() -> None:
    op.execute(_POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE)


def downgrade() -> None:
    # The cleared values were never counted anywhere; there is nothing to bring back.
    pass
