"""Webhook subscriptions, and the matching of changes to them that queues their deliveries
(the queue itself: app/db/deliveries.py).

Several workers, in any number of processes, share the queue: a worker claims due deliveries
with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two claims never take one row; SQLite's
writers never overlap), sends them with no transaction open, then records the outcome. A worker
that dies lets its claims go when their lease ends. A delivery is due only when every earlier
change of the same person for the same subscription has been delivered.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    delete,
    exists,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.bulk import insert_rows
from app.db.notification_tables import ChangeRow, DeliveryAttemptRow, DeliveryRow, SubscriptionRow
from app.db.tables import ApiKeyRow, table

subscription = table(SubscriptionRow)
delivery = table(DeliveryRow)
attempt = table(DeliveryAttemptRow)
api_key = table(ApiKeyRow)
change = table(ChangeRow)

ACTIVE: Final = "active"
FAILING: Final = "failing"
DISABLED: Final = "disabled"
# Whether the key that made a subscription is still active: once it is revoked, nothing more
# is matched or sent (the revocation applies at once, as to the key's own reads).
key_active = exists().where(
    api_key.c.key_id == subscription.c.key_id, api_key.c.revoked_at.is_(None)
)


async def add(conn: AsyncConnection, row: Mapping[str, Any]) -> None:
    await conn.execute(subscription.insert().values(**row))


def _shown() -> Any:
    """Subscriptions not deleted, each with `key_active`."""
    shown = select(subscription, key_active.label("key_active"))
    return shown.where(subscription.c.deleted_at.is_(None))


async def get(conn: AsyncConnection, subscription_id: str) -> Any:
    query = _shown().where(subscription.c.subscription_id == subscription_id)
    return (await conn.execute(query)).first()


async def listing(conn: AsyncConnection, org: str | None) -> list[Any]:
    """The subscriptions of `org` (every one when None), oldest first."""
    query = _shown()
    if org is not None:
        query = query.where(subscription.c.org == org)
    return list((await conn.execute(query.order_by(subscription.c.created_at))).all())


async def remove(conn: AsyncConnection, subscription_id: str, at: datetime) -> None:
    """Stop a subscription: its undelivered changes are dropped with it."""
    query = update(subscription).where(subscription.c.subscription_id == subscription_id)
    await conn.execute(query.values(deleted_at=at))
    pending = delivery.c.delivered_at.is_(None)
    owned = delivery.c.subscription_id == subscription_id
    await conn.execute(delete(delivery).where(owned, pending))


async def enable(conn: AsyncConnection, subscription_id: str, at: datetime) -> bool:
    """A disabled subscription delivers again, from the first undelivered change, on a fresh
    retry schedule; whether it was disabled (one that was not is left as it is)."""
    query = update(subscription).where(
        subscription.c.subscription_id == subscription_id, subscription.c.status == DISABLED
    )
    enabled = await conn.execute(query.values(status=ACTIVE))
    if enabled.rowcount == 0:
        return False
    waiting = update(delivery).where(
        delivery.c.subscription_id == subscription_id, delivery.c.delivered_at.is_(None)
    )
    await conn.execute(waiting.values(next_attempt_at=at, first_failed_at=None, attempts=0))
    return True


async def attempts(conn: AsyncConnection, subscription_id: str, limit: int) -> list[Any]:
    """The latest attempts, newest first."""
    query = (
        select(attempt)
        .where(attempt.c.subscription_id == subscription_id)
        .order_by(attempt.c.id.desc())
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def to_match(conn: AsyncConnection, last_change: int) -> list[Any]:
    """Subscriptions with changes up to `last_change` not yet matched, with the scope of the
    key that made them, each locked until this transaction ends; those another worker is
    matching are skipped, and those whose key was revoked are left."""
    query = (
        select(subscription, api_key.c.scope.label("key_scope"))
        .join(api_key, api_key.c.key_id == subscription.c.key_id)
        .where(
            subscription.c.deleted_at.is_(None),
            subscription.c.matched_upto < last_change,
            api_key.c.revoked_at.is_(None),
        )
        .order_by(subscription.c.subscription_id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=subscription, skip_locked=True)
    return list((await conn.execute(query)).all())


async def matched(
    conn: AsyncConnection, subscription_id: str, upto: int, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Queue these deliveries, and note that changes up to `upto` have been matched."""
    await insert_rows(conn, delivery, rows, skip_conflicts=True)
    query = update(subscription).where(subscription.c.subscription_id == subscription_id)
    await conn.execute(query.values(matched_upto=upto))


async def behind(conn: AsyncConnection, last_change: int) -> bool:
    """Whether some subscription has changes up to `last_change` not yet matched."""
    query = select(subscription.c.subscription_id).where(
        subscription.c.deleted_at.is_(None), subscription.c.matched_upto < last_change, key_active
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def subscriptions_of(conn: AsyncConnection, ids: Collection[str]) -> dict[str, Any]:
    query = select(subscription).where(subscription.c.subscription_id.in_(sorted(ids)))
    return {row.subscription_id: row for row in (await conn.execute(query)).all()}
