"""HMPPS domain events counted by type and outcome, for /metrics (CONTRACT §8's operator view).

The HTTPS endpoint, `joinup hmpps consume` and the retries of `joinup worker` may each run in a
process of their own, and a scrape reaches one server process; so the counts are kept in the
database (one short write per message), as the webhook deliveries' are, and any server's
/metrics shows them all.
"""

from __future__ import annotations

import logging
from typing import Final

from app.db import hmpps as hmpps_store
from app.db.engine import Database
from app.db.errors import DatabaseUnavailable
from app.domain import hmpps
from app.services.hmpps import sns

log = logging.getLogger("joinup.hmpps")

REFUSED: Final = "refused"
# A message refused before its eventType could be read (not JSON, no eventType).
UNREAD: Final = "unread"
# Every type joinup does not use counts as one: a sender cannot add rows (nor label values).
OTHER: Final = "other"
_NAMED: Final = frozenset(
    {
        *hmpps.USED_TYPES,
        f"sns.{sns.SUBSCRIPTION_CONFIRMATION}",
        f"sns.{sns.UNSUBSCRIBE_CONFIRMATION}",
        UNREAD,
    }
)


def label(event_type: str) -> str:
    """The type a domain event is counted under."""
    return event_type if event_type in _NAMED else OTHER


async def count(db: Database, event_type: str, outcome: str) -> None:
    """Count one message; while the database cannot be reached the count is lost, not the
    answer."""
    try:
        async with db.write() as conn:
            await hmpps_store.add_to_tally(conn, label(event_type), outcome)
    except DatabaseUnavailable as error:
        log.warning("domain event not counted: %s", error)


async def read(db: Database) -> dict[tuple[str, str], int] | None:
    """Every count, by (type, outcome); None while the database cannot be reached."""
    try:
        async with db.read() as conn:
            rows = await hmpps_store.tallies(conn)
    except DatabaseUnavailable:
        return None
    return {(row.event_type, row.outcome): row.total for row in rows}
