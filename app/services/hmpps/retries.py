"""Retrying the HMPPS domain events kept pending (CONTRACT §8).

`retry_due` is a job of the worker (app/main.py `worker_of`) that runs in each server process, or
in `joinup worker` processes with `JOINUP_INLINE_WORKER=0`. Several may run at once: each event is
taken by one of them at a time. A retry ends one of three ways: still pending (CVL or HMPPS Auth
still away: tried again later, each wait twice the one before, at most an hour); stored, or found
stored already by another delivery; or refused. Only the first keeps the row. A refused event
(CVL refuses the licence, its joinup event is refused, the key that posted it may no longer post
`licence.activated` or has been revoked) is not retried for ever: it leaves an HMPPS_EVENT audit
row with the reason and the domain event itself, from which an operator can post it again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final

from app.db import hmpps as pending_store
from app.services import clock, keys
from app.services.errors import Forbidden, ServiceError
from app.services.hmpps import tally
from app.services.hmpps.intake import ACCEPTED, PENDING, Hmpps, consumer, delay, noted, take
from app.services.principal import Principal

log = logging.getLogger("joinup.hmpps")

# How long a worker holds a due event it took, before another may take it.
LEASE: Final = timedelta(minutes=2)


async def retry_due(hub: Hmpps, now: datetime | None = None, limit: int = 20) -> int:
    """Try again every pending domain event that is due; how many were stored."""
    now = now or clock.now()
    async with hub.db.read() as conn:
        rows = await pending_store.due(conn, now, limit)
    stored = 0
    for row in rows:
        async with hub.db.write() as conn:
            mine = await pending_store.claim(
                conn, row.org, row.event_id, row.next_attempt_at, now + LEASE
            )
        if mine:
            stored += await _retry(hub, row, now)
    return stored


async def _retry(hub: Hmpps, row: Any, now: datetime) -> int:
    who = await _poster(hub, row)
    try:
        if who is None:
            raise Forbidden("the key that posted this domain event has been revoked")
        answer = await take(hub, who, row.envelope, audited=False)
    except ServiceError as error:
        await _refused(hub, row, who, f"{error.slug}: {error.detail}")
        return 0
    if answer.status == PENDING:
        attempts = row.attempts + 1
        async with hub.db.write() as conn:
            await pending_store.failed(
                conn,
                row.org,
                row.event_id,
                attempts,
                now + delay(hub, attempts),
                (answer.reason or "still pending")[:1000],
            )
        return 0
    # Stored now, or by another delivery meanwhile: nothing is left to retry.
    async with hub.db.write() as conn:
        await pending_store.done(conn, row.org, row.event_id)
    await tally.count(hub.db, answer.event_type, answer.status)
    log.info("pending domain event %s", answer.status, extra={"event_id": row.event_id})
    return int(answer.status == ACCEPTED)


async def _refused(hub: Hmpps, row: Any, who: Principal | None, reason: str) -> None:
    details = {"event_type": row.event_type, "reason": reason, "envelope": row.envelope}
    async with hub.db.write() as conn:
        await pending_store.done(conn, row.org, row.event_id)
        by = who or Principal(row.key_id, row.org, frozenset())
        await noted(conn, by, row.event_id, tally.REFUSED, details)
    await tally.count(hub.db, row.event_type, tally.REFUSED)
    log.warning("pending domain event refused: %s", reason, extra={"event_id": row.event_id})


async def _poster(hub: Hmpps, row: Any) -> Principal | None:
    """Who a pending event is stored for: the key that posted it as it is now (its event types
    included), or None once that key is revoked; the consumer's organisation if no key."""
    if row.key_id is None:
        return consumer(row.org)
    async with hub.db.read() as conn:
        return await keys.active_principal(conn, row.key_id)
