"""Webhook subscriptions (CONTRACT §7): made by a reading key for its organisation, always
narrowed by that key's scope, seen and managed by the organisation's keys and by admins."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from app.db import Connection
from app.db import changes as change_store
from app.db import subscriptions as store
from app.domain.changes import CHANGE_TYPES
from app.domain.filters import stored
from app.services import audit, clock
from app.services.errors import ErrorItem, Invalid, NotFound
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
        "status": row.status,
        "created_at": row.created_at,
        "last_delivery": last,
    }


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


async def _own(conn: Connection, who: Principal, subscription_id: str) -> Any:
    row = await store.get(conn, subscription_id)
    if row is None or not ("admin" in who.roles or row.org == who.org):
        raise NotFound(f"your organisation has no subscription {subscription_id!r}")
    return row


async def listing(conn: Connection, who: Principal) -> list[dict[str, Any]]:
    """The caller's organisation's subscriptions; an admin's answer has every one."""
    rows = await store.listing(conn, None if "admin" in who.roles else who.org)
    return [_view(row) for row in rows]


async def read(conn: Connection, who: Principal, subscription_id: str) -> dict[str, Any]:
    return _view(await _own(conn, who, subscription_id))


async def remove(conn: Connection, who: Principal, subscription_id: str) -> None:
    await _own(conn, who, subscription_id)
    await store.remove(conn, subscription_id, clock.now())
    await _audit(conn, who, audit.SUBSCRIPTION_DELETED, subscription_id)


async def enable(conn: Connection, who: Principal, subscription_id: str) -> dict[str, Any]:
    await _own(conn, who, subscription_id)
    await store.enable(conn, subscription_id, clock.now())
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
