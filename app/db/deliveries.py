"""The queue of webhook deliveries: claiming due ones, recording each attempt's outcome.

A worker claims due deliveries with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
claims never take one row; SQLite's writers never overlap), sends them with no transaction
open, then records the outcome. A worker that dies lets its claims go when their lease ends. A
delivery is due only when every earlier change of the same person for the same subscription
has been delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    TextClause,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.notification_tables import ChangeRow, DeliveryAttemptRow, DeliveryRow, SubscriptionRow
from app.db.subscriptions import ACTIVE, DISABLED, FAILING, key_active
from app.db.tables import UtcDateTime, table

subscription = table(SubscriptionRow)
delivery = table(DeliveryRow)
attempt = table(DeliveryAttemptRow)
change = table(ChangeRow)


def _typed(sql: str) -> TextClause:
    """The claim's statement, its times bound and read as UtcDateTime columns are."""
    at = UtcDateTime()
    bound = text(sql).bindparams(bindparam("now", type_=at), bindparam("lease", type_=at))
    return bound.columns(
        subscription_id=String(),
        change_id=BigInteger(),
        person_id=String(),
        attempts=Integer(),
        first_failed_at=at,
    )  # type: ignore[return-value]


_DUE_CONDITION: Final = (
    "d.delivered_at IS NULL AND d.next_attempt_at <= :now"
    " AND (d.leased_until IS NULL OR d.leased_until <= :now)"
    " AND s.deleted_at IS NULL AND s.status <> 'disabled'"
    " AND EXISTS (SELECT 1 FROM api_key AS k WHERE k.key_id = s.key_id AND k.revoked_at IS NULL)"
    " AND NOT EXISTS (SELECT 1 FROM delivery AS e WHERE e.subscription_id = d.subscription_id"
    " AND e.person_id = d.person_id AND e.change_id < d.change_id AND e.delivered_at IS NULL)"
)
_DUE: Final = (
    "SELECT d.subscription_id, d.change_id FROM delivery AS d"
    " JOIN subscription AS s ON s.subscription_id = d.subscription_id"
    f" WHERE {_DUE_CONDITION} ORDER BY d.next_attempt_at, d.change_id LIMIT :most"
)
_CLAIM_PG: Final = _typed(
    f"WITH due AS ({_DUE} FOR UPDATE OF d SKIP LOCKED)"
    " UPDATE delivery SET leased_until = :lease FROM due"
    " WHERE delivery.subscription_id = due.subscription_id"
    " AND delivery.change_id = due.change_id"
    " RETURNING delivery.subscription_id, delivery.change_id, delivery.person_id,"
    " delivery.attempts, delivery.first_failed_at"
)
_CLAIM_SQLITE: Final = _typed(
    f"UPDATE delivery SET leased_until = :lease WHERE (subscription_id, change_id) IN ({_DUE})"
    " RETURNING subscription_id, change_id, person_id, attempts, first_failed_at"
)


@dataclass(frozen=True)
class Claimed:
    subscription_id: str
    change_id: int
    person_id: str
    attempts: int
    first_failed_at: datetime | None


async def claim(conn: AsyncConnection, now: datetime, lease: datetime, most: int) -> list[Claimed]:
    """Take up to `most` due deliveries until `lease`."""
    statement = _CLAIM_PG if conn.dialect.name == "postgresql" else _CLAIM_SQLITE
    params = {"now": now, "lease": lease, "most": most}
    rows = (await conn.execute(statement, params)).all()
    return [Claimed(*row) for row in sorted(rows, key=lambda r: r[1])]


async def any_due(conn: AsyncConnection, now: datetime) -> bool:
    """Whether some delivery may be due (a cheap look before a claim takes the write lock)."""
    query = select(delivery.c.change_id).where(
        delivery.c.delivered_at.is_(None), delivery.c.next_attempt_at <= now
    )
    return (await conn.execute(query.limit(1))).first() is not None


@dataclass(frozen=True)
class Outcome:
    subscription_id: str
    change_id: int
    person_id: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    # Delivered; otherwise when to try again, and whether to disable the subscription.
    delivered: bool
    retry_at: datetime | None = None
    first_failed_at: datetime | None = None
    disable: bool = False


_DELIVERED: Final = (
    update(delivery)
    .where(delivery.c.subscription_id == bindparam("s"), delivery.c.change_id == bindparam("c"))
    .values(delivered_at=bindparam("at"), leased_until=None)
)
_FAILED: Final = (
    update(delivery)
    .where(delivery.c.subscription_id == bindparam("s"), delivery.c.change_id == bindparam("c"))
    .values(
        attempts=bindparam("n"),
        next_attempt_at=bindparam("retry_at"),
        first_failed_at=bindparam("first_failed_at"),
        leased_until=None,
    )
)


async def settle(conn: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
    """Record attempts, and what follows from them for their deliveries and subscriptions: a
    few statements for any number of outcomes."""
    done = [{"s": o.subscription_id, "c": o.change_id, "at": o.at} for o in outcomes if o.delivered]
    failed = [
        {
            "s": o.subscription_id,
            "c": o.change_id,
            "n": o.attempt,
            "retry_at": o.retry_at,
            "first_failed_at": o.first_failed_at,
        }
        for o in outcomes
        if not o.delivered
    ]
    if done:
        await conn.execute(_DELIVERED, done)
    if failed:
        await conn.execute(_FAILED, failed)
    if outcomes:
        await conn.execute(attempt.insert(), [_attempt_row(o) for o in outcomes])
    for subscription_id in sorted({o.subscription_id for o in outcomes}):
        await _count(conn, [o for o in outcomes if o.subscription_id == subscription_id])


def _attempt_row(outcome: Outcome) -> dict[str, Any]:
    return {
        "subscription_id": outcome.subscription_id,
        "change_id": outcome.change_id,
        "attempt": outcome.attempt,
        "at": outcome.at,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
    }


async def _count(conn: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
    """One subscription's counters, last outcome and status, after these attempts."""
    last = max(outcomes, key=lambda o: o.at)
    delivered = sum(1 for o in outcomes if o.delivered)
    owned = subscription.c.subscription_id == last.subscription_id
    values: dict[str, Any] = {
        "last_attempt_at": last.at,
        "last_status_code": last.status_code,
        "last_error": last.error,
        "delivered": subscription.c.delivered + delivered,
        "failed": subscription.c.failed + (len(outcomes) - delivered),
    }
    await conn.execute(update(subscription).where(owned).values(**values))
    disable = any(o.disable for o in outcomes)
    status = DISABLED if disable else ACTIVE if last.delivered else FAILING
    # A disabled subscription stays so until it is enabled.
    change = update(subscription).where(owned, subscription.c.status != DISABLED)
    await conn.execute(change.values(status=status))


async def prune(conn: AsyncConnection, before: datetime) -> None:
    """Forget attempts made before `before`, and deliveries made before then."""
    await conn.execute(delete(attempt).where(attempt.c.at < before))
    await conn.execute(delete(delivery).where(delivery.c.delivered_at < before))


@dataclass(frozen=True)
class QueueStats:
    delivered: int
    failed: int
    queued: int
    oldest_queued_at: datetime | None
    unmatched: int
    oldest_unmatched_at: datetime | None
    disabled: int


async def stats(conn: AsyncConnection) -> QueueStats:
    """Attempts by outcome over every subscription there has been (deleted ones too, so that
    the totals never go down); for the live subscriptions whose key is active, the deliveries
    queued and the changes not yet matched against them (each subscription's, counted for
    it), with the oldest of each; and the live subscriptions that deliver nothing, disabled or
    with their key revoked."""
    live = subscription.c.deleted_at.is_(None)
    totals = select(
        func.coalesce(func.sum(subscription.c.delivered), 0),
        func.coalesce(func.sum(subscription.c.failed), 0),
        func.count().filter(live, (subscription.c.status == DISABLED) | ~key_active),
    )
    delivered, failed, disabled = (await conn.execute(totals)).one()
    owed = (
        select(func.count(), func.min(change.c.changed_at))
        .select_from(
            delivery.join(change, change.c.change_id == delivery.c.change_id).join(
                subscription, subscription.c.subscription_id == delivery.c.subscription_id
            )
        )
        .where(delivery.c.delivered_at.is_(None), live, key_active)
    )
    queued, oldest = (await conn.execute(owed)).one()
    waiting = (
        select(func.count(), func.min(change.c.changed_at))
        .select_from(subscription.join(change, change.c.change_id > subscription.c.matched_upto))
        .where(live, key_active)
    )
    unmatched, oldest_unmatched = (await conn.execute(waiting)).one()
    return QueueStats(
        int(delivered),
        int(failed),
        int(queued),
        oldest,
        int(unmatched),
        oldest_unmatched,
        int(disabled),
    )
