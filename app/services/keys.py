"""API keys: creation, authentication, revocation, and the first admin key.

Only the SHA-256 of a secret is stored, and a key is found by looking up the hash of the secret
presented. How long that lookup takes depends on the hash, which the caller cannot steer bit by
bit, never on how much of a stored secret the presented one matches, so timing reveals nothing
about stored secrets. The found row's hash is compared again with `hmac.compare_digest` all the
same: the check does not then rest on how the database compares strings.

The key is looked up on every request, in the database every process and machine shares, so
that revoking a key or changing its scope or event types applies to the very next request
everywhere (CONTRACT §2.1): no process remembers a key it found.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from app.db import Connection, locks
from app.db import keys as key_store
from app.domain.filters import Scope, scope_of, stored, within
from app.domain.vocabulary import EventType
from app.services import audit, clock
from app.services.errors import ErrorItem, Forbidden, Invalid, NotFound, Unauthorized
from app.services.principal import Principal

ROLES: Final = ("submitter", "probation", "coordinator", "admin")
ADMIN_ORG: Final = "JOINUP-ADMIN"
_NO_KEY: Final = "send an API key as 'Authorization: Bearer <key>'"
_UNKNOWN_KEY: Final = "this API key is unknown or has been revoked"


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret: str
    org: str
    roles: list[str]
    label: str
    scope: dict[str, list[str]] | None = None
    event_types: list[str] | None = None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return "jk_" + secrets.token_urlsafe(32)


async def create(
    conn: Connection,
    org: str,
    roles: Sequence[str],
    label: str,
    secret: str | None = None,
    scope: Scope | None = None,
    by: Principal | None = None,
    event_types: Sequence[str] | None = None,
) -> IssuedKey:
    """A new key, made by the admin `by` (None: from the console).

    A submitter key needs `event_types` (CONTRACT §2.1); other keys take none.
    """
    _may_grant(by, scope)
    secret = secret or _new_secret()
    key_id = secrets.token_hex(8)
    ordered: list[str] = [role for role in ROLES if role in roles]
    types = _checked_types(ordered, event_types)
    limits = stored(scope)
    at = clock.now()
    await key_store.add(conn, key_id, org, ordered, label, hash_secret(secret), at, limits, types)
    details = {"key_org": org, "roles": ordered, "label": label, "scope": limits}
    if types is not None:
        details["event_types"] = types
    await audit.record(
        conn, by, audit.KEY_CREATED, subject=key_id, subject_type=audit.KEY, details=details
    )
    return IssuedKey(key_id, secret, org, ordered, label, limits, types)


def _checked_types(roles: Sequence[str], event_types: Sequence[str] | None) -> list[str] | None:
    """The event types a key of `roles` stores, in the contract's order; Invalid when a
    submitter key has none, or another key has some."""
    if "submitter" not in roles:
        if event_types is not None:
            raise _invalid_types("only a key with the submitter role carries event_types")
        return None
    if not event_types:
        raise _invalid_types("a submitter key needs the event types it may post")
    unknown = sorted(set(event_types) - set(EventType))
    if unknown:
        raise _invalid_types(f"unknown event types {unknown}; known: {list(EventType)}")
    return [str(kind) for kind in EventType if kind in event_types]


def _invalid_types(message: str) -> Invalid:
    return Invalid(message, errors=[ErrorItem(["body", "event_types"], message)])


def _may_grant(by: Principal | None, scope: Scope | None) -> None:
    """Refuse a scoped admin a key whose scope is not within its own (CONTRACT §2.1)."""
    if not within(scope, _scope_of(by)):
        raise Forbidden(
            "this admin key is scoped: it may make or rescope keys only within its own scope "
            f"({stored(_scope_of(by))})"
        )


async def _managed(conn: Connection, by: Principal | None, key_id: str) -> Any:
    """The active key `key_id`, when `by` may manage it: a scoped admin sees only the keys
    within its own scope, and no other key exists for it."""
    row = await key_store.by_id(conn, key_id)
    if row is None or not within(scope_of(row.scope), _scope_of(by)):
        raise NotFound(f"there is no active key {key_id!r}")
    return row


async def authenticate(
    conn: Connection,
    secret: str | None,
    request_id: str | None = None,
) -> Principal:
    """The caller, looked up by the hash of its secret."""
    if not secret:
        raise Unauthorized(_NO_KEY)
    digest = hash_secret(secret)
    row = await key_store.by_hash(conn, digest)
    if row is None or not hmac.compare_digest(row.secret_hash, digest):
        raise Unauthorized(_UNKNOWN_KEY)
    return principal_of(row, request_id)


def principal_of(row: Any, request_id: str | None = None) -> Principal:
    """The caller a stored key's row describes."""
    roles = frozenset(row.roles.split(","))
    types = row.event_types
    # A submitter key stored without types (none should be: the migration gave them all) may
    # post nothing rather than everything.
    event_types = frozenset(types or ()) if "submitter" in roles else None
    return Principal(row.key_id, row.org, roles, scope_of(row.scope), request_id, event_types)


async def active_principal(conn: Connection, key_id: str) -> Principal | None:
    """The active key `key_id` as a caller (for work done later on its behalf), or None."""
    row = await key_store.by_id(conn, key_id)
    return principal_of(row) if row is not None else None


def _listed(row: Any) -> dict[str, Any]:
    return {
        "key_id": row.key_id,
        "org": row.org,
        "roles": row.roles.split(","),
        "label": row.label,
        "scope": stored(scope_of(row.scope)),
        "event_types": row.event_types,
        "created_at": row.created_at,
    }


async def listing(conn: Connection, by: Principal | None) -> list[dict[str, Any]]:
    """The active keys `by` may manage: all of them, or a scoped admin's within its scope."""
    rows = await key_store.all_active(conn)
    return [_listed(row) for row in rows if within(scope_of(row.scope), _scope_of(by))]


def _scope_of(by: Principal | None) -> Scope | None:
    # The console (None) manages every key.
    return by.scope if by is not None else None


async def set_scope(
    conn: Connection, by: Principal, key_id: str, scope: Scope | None
) -> dict[str, Any]:
    """Replace an active key's scope (None: unscoped); it applies from the key's next request."""
    _may_grant(by, scope)
    await _managed(conn, by, key_id)
    row = await key_store.set_scope(conn, key_id, stored(scope))
    if row is None:
        raise NotFound(f"there is no active key {key_id!r}")
    details = {"scope": stored(scope)}
    await audit.record(
        conn, by, audit.KEY_SCOPE_CHANGED, subject=key_id, subject_type=audit.KEY, details=details
    )
    return _listed(row)


async def set_event_types(
    conn: Connection, by: Principal, key_id: str, event_types: Sequence[str]
) -> dict[str, Any]:
    """Replace the event types a submitter key may post; it applies as `set_scope` does."""
    found = await _managed(conn, by, key_id)
    types = _checked_types(found.roles.split(","), event_types)
    row = await key_store.set_event_types(conn, key_id, types)
    if row is None:
        raise NotFound(f"there is no active key {key_id!r}")
    details = {"event_types": types}
    await audit.record(
        conn, by, audit.KEY_TYPES_CHANGED, subject=key_id, subject_type=audit.KEY, details=details
    )
    return _listed(row)


async def revoke(conn: Connection, by: Principal | None, key_id: str) -> None:
    """Revoke an active key: refused from its next request, on every process."""
    await _managed(conn, by, key_id)
    if not await key_store.revoke(conn, key_id, clock.now()):
        raise NotFound(f"there is no active key {key_id!r}")
    await audit.record(
        conn, by, audit.KEY_REVOKED, subject=key_id, subject_type=audit.KEY, details={}
    )


async def bootstrap_admin(conn: Connection, configured: str | None) -> IssuedKey | None:
    """Register the configured admin secret, or make one on a first start with no keys at all.

    Returns the key only when it was generated here, so that its secret can be shown once.
    """
    await locks.lock(conn, ["bootstrap"])
    if configured:
        # A configured key that an admin has since revoked stays revoked.
        if await key_store.by_hash(conn, hash_secret(configured), revoked_too=True) is None:
            await create(conn, ADMIN_ORG, ["admin"], "from JOINUP_ADMIN_KEY", configured)
        return None
    if await key_store.count_active(conn) > 0:
        return None
    return await create(conn, ADMIN_ORG, ["admin"], "generated on first start")
