"""Changes that time alone makes: a pickup window closes, a retention point passes, a booked
first dose arrives. The worker looks at start-up and every hour (`JOINUP_CHANGE_SWEEP_SECONDS`).

Only releases with a version of their record starting since the last sweep can have changed, and
each is compared from the day it was last compared on (by a write or a sweep), so a change is
found once whichever process, write or sweep finds it first. The sweep holds one row lock while
it works: a second process looking at the same time skips, and then finds the day done.
"""

from __future__ import annotations

import logging
from datetime import date

from app.db import Connection, locks
from app.db import changes as change_store
from app.db.engine import Database
from app.services import clock
from app.services.notifications import outbox

log = logging.getLogger("joinup.notifications")
# People compared in one transaction.
CHUNK = 500


async def sweep(db: Database, today: date | None = None) -> int:
    """Store the time-driven changes up to `today` (default: the service's today); their
    number."""
    today = today or clock.today()
    async with db.write() as conn:
        taken, swept_on = await change_store.lock_sweep(conn)
        if not taken or (swept_on is not None and swept_on >= today):
            return 0
        if swept_on is None:
            # The first look: records are compared from today on.
            await change_store.set_swept(conn, today)
            return 0
        people = await change_store.people_with_versions_starting(conn, swept_on, today)
        found = 0
        for start in range(0, len(people), CHUNK):
            found += await _compare(conn, people[start : start + CHUNK], swept_on, today)
        await change_store.set_swept(conn, today)
    if found:
        log.info("time-driven changes found", extra={"changes": found, "as_of": str(today)})
    return found


async def _compare(conn: Connection, person_ids: list[str], since: date, today: date) -> int:
    await locks.lock_people(conn, person_ids)
    before = await change_store.last_compared(conn, person_ids, since)
    at = clock.now()
    return await outbox.compare(conn, person_ids, before, today, at=at, effective_on_start=True)
