"""API keys: creation, authentication, revocation, and the first admin key.

Only the SHA-256 of a secret is stored, and a key is found by looking up the hash of the secret
presented. How long that lookup takes depends on the hash, which the caller cannot steer bit by
bit, never on how much of a stored secret the presented one matches, so timing reveals nothing
about stored secrets. The found row's hash is compared again with `hmac.compare_digest` all the
same: the check does not then rest on how the database compares strings.
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
from app.services import audit, clock
from app.services.errors import Forbidden, NotFound, Unauthorized
from app.services.scope import Scope, scope_of, stored

ROLES: Final = ("submitter", "probation", "coordinator", "admin")
ADMIN_ORG: Final = "JOINUP-ADMIN"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its organisation, its roles and its scope (None: unscoped), and
    the id of the request it is making (for the audit trail)."""

    key_id: str
    org: str
    roles: frozenset[str]
    scope: Scope | None = None
    request_id: str | None = None

    def require(self, *roles: str) -> None:
        if not self.roles.intersection(roles):
            raise Forbidden(f"this key has none of the roles {', '.join(roles)}")


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret: str
    org: str
    roles: list[str]
    label: str
    scope: dict[str, list[str]] | None = None


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
) -> IssuedKey:
    """A new key, made by the admin `by` (None: from the console)."""
    secret = secret or _new_secret()
    key_id = secrets.token_hex(8)
    ordered: list[str] = [role for role in ROLES if role in roles]
    limits = stored(scope)
    await key_store.add(conn, key_id, org, ordered, label, hash_secret(secret), clock.now(), limits)
    details = {"key_org": org, "roles": ordered, "label": label, "scope": limits}
    await audit.record(
        conn, by, audit.KEY_CREATED, subject=key_id, subject_type=audit.KEY, details=details
    )
    return IssuedKey(key_id, secret, org, ordered, label, limits)


async def authenticate(
    conn: Connection, secret: str | None, request_id: str | None = None
) -> Principal:
    if not secret:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    digest = hash_secret(secret)
    row = await key_store.by_hash(conn, digest)
    if row is None or not hmac.compare_digest(row.secret_hash, digest):
        raise Unauthorized("this API key is unknown or has been revoked")
    roles = frozenset(row.roles.split(","))
    return Principal(row.key_id, row.org, roles, scope_of(row.scope), request_id)


def _listed(row: Any) -> dict[str, Any]:
    return {
        "key_id": row.key_id,
        "org": row.org,
        "roles": row.roles.split(","),
        "label": row.label,
        "scope": stored(scope_of(row.scope)),
        "created_at": row.created_at,
    }


async def listing(conn: Connection) -> list[dict[str, Any]]:
    return [_listed(row) for row in await key_store.all_active(conn)]


async def set_scope(
    conn: Connection, by: Principal, key_id: str, scope: Scope | None
) -> dict[str, Any]:
    """Replace an active key's scope (None: unscoped); it applies from the key's next request."""
    row = await key_store.set_scope(conn, key_id, stored(scope))
    if row is None:
        raise NotFound(f"there is no active key {key_id!r}")
    details = {"scope": stored(scope)}
    await audit.record(
        conn, by, audit.KEY_SCOPE_CHANGED, subject=key_id, subject_type=audit.KEY, details=details
    )
    return _listed(row)


async def revoke(conn: Connection, by: Principal, key_id: str) -> None:
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
