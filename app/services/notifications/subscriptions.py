"""Webhook subscriptions (CONTRACT §7): made by a reading key for its organisation, always
narrowed by that key's scope, seen and managed by the organisation's keys and by admins (a
scoped admin: those made within its scope, as with keys). Once the key that made one is
revoked it delivers nothing more, and says so."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from app.db import Connection
from app.db import changes as change_store
from app.db import subscriptions as store
from app.domain.changes import CHANGE_TYPES
from app.domain.filters import scope_of, stored, within
from app.services import audit, clock
from app.services.errors import Conflict, ErrorItem, Invalid, NotFound
from app.services.notifications import webhooks
from app.services.notifications.secrets import SecretBox, new_secret
from app.services.principal import Principal

FILTERS: Final = (
    "prisons",
    "probation_regions",
    "local_authorities",
    "community_providers",
    "stages",
    "flags",
)
# Attempts a subscription's delivery log shows.
RECENT_ATTEMPTS: Final = 100
# Why a subscription is disabled.
FAILED_FOR_3_DAYS: Final = "failed_for_3_days"
KEY_REVOKED: Final = "key_revoked"


@dataclass(frozen=True)
class NewSubscription:
    url: str
    types: Sequence[str]
    filter: Mapping[str, Sequence[str]]


def _view(row: Any) -> dict[str, Any]:
    last = None
    if row.last_attempt_at is not None:
        last = {
            "at": row.last_attempt_at,
            "status_code": row.last_status_code,
            "error": row.last_error,
            "delivered": row.last_error is None
            and row.last_status_code is not None
            and 200 <= row.last_status_code < 300,
        }
    return {
        "subscription_id": row.subscription_id,
        "org": row.org,
        "url": row.url,
        "types": row.types,
        "filter": row.filter,
        "scope": row.scope,
        "status": row.status if row.key_active else store.DISABLED,
        "disabled_reason": _disabled_reason(row),
        "created_at": row.created_at,
        "last_delivery": last,
    }


def _disabled_reason(row: Any) -> str | None:
    if not row.key_active:
        return KEY_REVOKED
    return FAILED_FOR_3_DAYS if row.status == store.DISABLED else None


async def create(
    conn: Connection,
    who: Principal,
    new: NewSubscription,
    box: SecretBox,
    *,
    allow_insecure: bool,
) -> dict[str, Any]:
    """Make a subscription; the answer carries its secret, shown this once."""
    problem = webhooks.url_problem(new.url, allow_insecure=allow_insecure)
    if problem is not None:
        raise Invalid(
            f"the url {problem}",
            errors=[ErrorItem(["body", "url"], f"the url {problem}")],
        )
    secret = new_secret()
    at = clock.now()
    subscription_id = "sub_" + secrets.token_hex(12)
    row: dict[str, Any] = {
        "subscription_id": subscription_id,
        "org": who.org,
        "key_id": who.key_id,
        "scope": stored(who.scope),
        "url": new.url,
        "types": list(dict.fromkeys(new.types or CHANGE_TYPES)),
        "filter": {name: list(values) for name, values in new.filter.items() if values},
        "secret": box.seal(secret),
        "status": store.ACTIVE,
        "created_at": at,
        "deleted_at": None,
        # Only changes stored from now on.
        "matched_upto": await change_store.last_id(conn),
        "delivered": 0,
        "failed": 0,
    }
    await store.add(conn, row)
    await _audit(conn, who, audit.SUBSCRIPTION_CREATED, subscription_id)
    made = await store.get(conn, subscription_id)
    return {**_view(made), "secret": secret}


def _manages(who: Principal, row: Any) -> bool:
    """The organisation's keys manage its subscriptions; an admin those made within its own
    scope (every one, unscoped), as it manages only the keys within it (CONTRACT §2.1)."""
    if row.org == who.org:
        return True
    return "admin" in who.roles and within(scope_of(row.scope), who.scope)


async def _own(conn: Connection, who: Principal, subscription_id: str) -> Any:
    row = await store.get(conn, subscription_id)
    if row is None or not _manages(who, row):
        raise NotFound(f"your organisation has no subscription {subscription_id!r}")
    return row


async def listing(conn: Connection, who: Principal) -> list[dict[str, Any]]:
    """The caller's organisation's subscriptions; an admin's answer has every one within its
    scope."""
    rows = await store.listing(conn, None if "admin" in who.roles else who.org)
    return [_view(row) for row in rows if _manages(who, row)]


async def read(conn: Connection, who: Principal, subscription_id: str) -> dict[str, Any]:
    return _view(await _own(conn, who, subscription_id))


async def remove(conn: Connection, who: Principal, subscription_id: str) -> None:
    await _own(conn, who, subscription_id)
    await store.remove(conn, subscription_id, clock.now())
    await _audit(conn, who, audit.SUBSCRIPTION_DELETED, subscription_id)


async def enable(conn: Connection, who: Principal, subscription_id: str) -> dict[str, Any]:
    """A disabled subscription delivers again, on a fresh schedule; any other is answered as it
    is, its retries untouched. One whose key was revoked cannot be: its owner makes another."""
    row = await _own(conn, who, subscription_id)
    if not row.key_active:
        raise Conflict(
            f"the key that made subscription {subscription_id!r} was revoked, so it delivers "
            "nothing more; subscribe again with an active key (and delete this one)"
        )
    if not await store.enable(conn, subscription_id, clock.now()):
        return _view(row)
    await _audit(conn, who, audit.SUBSCRIPTION_ENABLED, subscription_id)
    return _view(await _own(conn, who, subscription_id))


async def deliveries(
    conn: Connection, who: Principal, subscription_id: str
) -> list[dict[str, Any]]:
    """The latest attempts to deliver, newest first."""
    await _own(conn, who, subscription_id)
    return [
        {
            "change_id": str(row.change_id),
            "attempt": row.attempt,
            "at": row.at,
            "status_code": row.status_code,
            "error": row.error,
            "duration_ms": row.duration_ms,
        }
        for row in await store.attempts(conn, subscription_id, RECENT_ATTEMPTS)
    ]


async def _audit(conn: Connection, who: Principal, what: str, subscription_id: str) -> None:
    await audit.record(
        conn,
        who,
        what,
        subject=subscription_id,
        subject_type=audit.SUBSCRIPTION,
        outcome="stored",
        details={},
    )
