"""Delivering changes to subscriptions: matching new changes, sending due ones, recording what
came of each attempt.

Every change a subscription should receive becomes a delivery row, once (the row's key is the
subscription and the change). A delivery is sent with the change id as its `webhook-id` on every
attempt; a 2xx within the timeout acknowledges it, anything else is tried again after a growing,
jittered delay (`RETRY_DELAYS`), and a subscription whose oldest failing delivery has failed for
`GIVE_UP` is disabled: its deliveries wait, none is dropped, until it is enabled.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx

from app.db import changes as change_store
from app.db import deliveries
from app.db import subscriptions as store
from app.db.engine import Database
from app.db.errors import DatabaseUnavailable
from app.domain.changes import Interest
from app.domain.filters import DIMENSIONS
from app.domain.vocabulary import FLAG_BITS
from app.services import audit, clock
from app.services.notifications import webhooks
from app.services.notifications.secrets import SecretBox, SecretUnreadable
from app.services.principal import Principal

log = logging.getLogger("joinup.notifications")

# Seconds before each retry (the first retry is attempt 2); the last delay repeats.
RETRY_DELAYS: Final = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)
JITTER: Final = 0.2
GIVE_UP: Final = timedelta(days=3)
UNREADABLE: Final = (
    "the subscription's secret cannot be decrypted with this machine's key: "
    "set JOINUP_SECRET_KEY to the same value on every machine (docs/notifications.md)"
)
# Changes matched against a subscription per transaction, and deliveries claimed at once.
MATCH_CHUNK: Final = 1000
CLAIM: Final = 100


@dataclass(frozen=True)
class Delivering:
    """How this process delivers (from the settings)."""

    box: SecretBox
    timeout: float = 10.0
    retry_scale: float = 1.0
    allow_insecure: bool = False

    @property
    def lease(self) -> timedelta:
        # Longer than any attempt can take, so a claim lapses only when its worker is gone.
        return timedelta(seconds=self.timeout * 2 + 5)

    def retry_delay(self, failures: int) -> timedelta:
        base = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
        jittered = base * random.uniform(1 - JITTER, 1 + JITTER)
        return timedelta(seconds=jittered * self.retry_scale)

    @property
    def give_up(self) -> timedelta:
        return GIVE_UP * self.retry_scale


@dataclass(frozen=True)
class QueueStats:
    delivered: int
    failed: int
    queued: int
    oldest_age_seconds: float
    disabled: int


async def queue_stats(db: Database) -> QueueStats | None:
    """For /metrics: attempts by outcome (ever), the changes owed to subscriptions (queued as
    deliveries or not yet matched), the oldest one's age; None while the database cannot be
    reached (the process's own metrics are still worth a scrape)."""
    try:
        async with db.read() as conn:
            found = await deliveries.stats(conn)
    except DatabaseUnavailable:
        return None
    # A change not yet matched against a subscription is owed to it until its filter says
    # otherwise: with no worker matching, the queue grows and ages all the same.
    queued = found.queued + found.unmatched
    waiting = [at for at in (found.oldest_queued_at, found.oldest_unmatched_at) if at is not None]
    age = (clock.now() - min(waiting)).total_seconds() if waiting else 0.0
    return QueueStats(found.delivered, found.failed, queued, max(age, 0.0), found.disabled)


def interest(row: Any) -> Interest:
    """What a subscription row (with the `key_scope` its key has now) receives."""
    limits = [_limit(row.filter), _limit(row.scope), _limit(row.key_scope)]
    chosen = row.filter or {}
    return Interest(
        types=frozenset(row.types),
        limits=tuple(limit for limit in limits if limit),
        stages=frozenset(chosen["stages"]) if chosen.get("stages") else None,
        flags=frozenset(chosen["flags"]) if chosen.get("flags") else None,
    )


def _limit(given: Mapping[str, Any] | None) -> dict[str, frozenset[str]]:
    given = given or {}
    return {d: frozenset(given[d]) for d in DIMENSIONS if given.get(d) is not None}


def _admits(wanted: Interest, change: Any) -> bool:
    fields = {column: getattr(change, column) for column in DIMENSIONS.values()}
    open_flags = frozenset(code for code, bit in FLAG_BITS.items() if change.open_flags & bit)
    return wanted.admits(change.type, fields, change.stage, change.flag, open_flags)


async def match(db: Database) -> bool:
    """Queue the new changes each subscription should receive; whether there were any."""
    async with db.read() as conn:
        last = await change_store.last_id(conn)
        if not await store.behind(conn, last):
            return False
    async with db.write() as conn:
        for row in await store.to_match(conn, last):
            changes = await change_store.since(conn, row.matched_upto, MATCH_CHUNK)
            if not changes:
                continue
            wanted, now = interest(row), clock.now()
            queued = [_queued(row.subscription_id, c, now) for c in changes if _admits(wanted, c)]
            await store.matched(conn, row.subscription_id, changes[-1].change_id, queued)
    return True


def _queued(subscription_id: str, change: Any, now: datetime) -> dict[str, Any]:
    return {
        "subscription_id": subscription_id,
        "change_id": change.change_id,
        "person_id": change.person_id,
        "attempts": 0,
        "next_attempt_at": now,
        "leased_until": None,
        "first_failed_at": None,
        "delivered_at": None,
    }


async def deliver(db: Database, http: httpx.AsyncClient, how: Delivering) -> int:
    """Send the due deliveries this worker can claim, at most `CLAIM`; how many it sent."""
    now = clock.now()
    async with db.read() as conn:
        if not await deliveries.any_due(conn, now):
            return 0
    async with db.write() as conn:
        claimed = await deliveries.claim(conn, now, now + how.lease, CLAIM)
    if not claimed:
        return 0
    async with db.read() as conn:
        bodies = await change_store.bodies(conn, [c.change_id for c in claimed])
        subscribed = await store.subscriptions_of(conn, {c.subscription_id for c in claimed})
    sends = [_attempt(http, how, c, subscribed[c.subscription_id], bodies) for c in claimed]
    outcomes = await asyncio.gather(*sends)
    async with db.write() as conn:
        await deliveries.settle(conn, outcomes)
        await audit.record_each(conn, [_audited(subscribed, o) for o in outcomes])
    return len(outcomes)


async def _attempt(
    http: httpx.AsyncClient,
    how: Delivering,
    claimed: deliveries.Claimed,
    subscribed: Any,
    bodies: Mapping[int, bytes],
) -> deliveries.Outcome:
    answer = await _answer(http, how, claimed, subscribed, bodies)
    at = clock.now()
    number = claimed.attempts + 1
    common = (claimed.subscription_id, claimed.change_id, claimed.person_id, number, at)
    outcome = (*common, answer.status_code, answer.error, answer.duration_ms)
    if answer.acknowledged:
        return deliveries.Outcome(*outcome, delivered=True)
    first_failed = claimed.first_failed_at or at
    return deliveries.Outcome(
        *outcome,
        delivered=False,
        retry_at=at + how.retry_delay(number),
        first_failed_at=first_failed,
        disable=at - first_failed >= how.give_up,
    )


async def _answer(
    http: httpx.AsyncClient,
    how: Delivering,
    claimed: deliveries.Claimed,
    subscribed: Any,
    bodies: Mapping[int, bytes],
) -> webhooks.Answer:
    """The receiver's answer, or why there is none. Whatever goes wrong is this attempt's error,
    retried on its schedule: it never stops the other deliveries of the claim being sent and
    recorded."""
    try:
        secret = how.box.open(subscribed.secret)
    except SecretUnreadable:
        log.warning(UNREADABLE, extra={"subscription_id": claimed.subscription_id})
        return webhooks.Answer(None, UNREADABLE, 0)
    webhook_id = str(claimed.change_id)
    try:
        body = bodies[claimed.change_id]
        headers = webhooks.signed_headers(secret, webhook_id, body)
        return await webhooks.send(
            http,
            subscribed.url,
            headers,
            body,
            timeout=how.timeout,
            allow_insecure=how.allow_insecure,
        )
    except Exception as error:
        log.exception("a delivery attempt failed", extra={"webhook_id": webhook_id})
        return webhooks.Answer(None, f"joinup could not send it: {type(error).__name__}", 0)


def _audited(subscribed: Mapping[str, Any], outcome: deliveries.Outcome) -> audit.Entry:
    """A delivery is a read, by the subscription's key, of the person its change names."""
    row = subscribed[outcome.subscription_id]
    who = Principal(row.key_id, row.org, frozenset())
    return audit.Entry(
        who,
        audit.DELIVER_CHANGES,
        subject_type=audit.QUERY,
        subject=outcome.subscription_id,
        outcome=audit.OK if outcome.delivered else "undelivered",
        details={
            "change_ids": [str(outcome.change_id)],
            "attempt": outcome.attempt,
            "person_ids": [outcome.person_id],
        },
        at=outcome.at,
    )
