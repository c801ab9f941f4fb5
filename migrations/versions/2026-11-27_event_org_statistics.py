"""no planner statistics for event.org

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Statistics of `event.org` taken before an organisation's first post say it has no events. The
planner then finds each of that organisation's posted events by reading every event it has
(`uq_event_org_corrects` scanned on the organisation alone, the event ids left as a filter)
until the next ANALYZE: single posts from a new organisation ran at 620-705 events/s against
813, the lookup taking 1.3 ms and 1,040 buffers a post against 0.03 ms and 22. Without them
the planner takes an organisation for a two-hundredth of the events, and looks event ids up in
the index. Every query on `event` names an organisation beside a more selective key, so no plan
needs the column's figures.

PostgreSQL keeps figures gathered before this revision until they are deleted (only a superuser
may); a new database never has any. SQLite keeps no such statistics: nothing to do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE event ALTER COLUMN org SET STATISTICS 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE event ALTER COLUMN org SET STATISTICS -1")
