"""Signed-in browsers: the pages' sessions.

A session is a random token held in the browser's cookie; only its SHA-256 is stored, with the
key it was opened by, the token the session's forms carry against cross-site requests, and when
it ends. A session lasts as long as its key does: revoking the key ends it at once, on every
process, because every page request reads the session with its key.

How a browser comes to be signed in is kept apart from the session itself: `sign_in_with_key`
checks a key typed into the sign-in form, then `start` opens the session. Another way of signing
in (OpenID Connect through HMPPS Auth or NHS login) would find its `Principal` its own way and
call `start` the same.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from app.db import Connection
from app.db import sessions as session_store
from app.services import audit, clock, keys
from app.services.errors import Forbidden
from app.services.principal import Principal

# The roles that have pages to read (CONTRACT §9); a key with none of them cannot sign in.
PAGE_ROLES: Final = ("probation", "coordinator")


@dataclass(frozen=True)
class SignedIn:
    """Who a browser is signed in as, and the token its forms must carry."""

    principal: Principal
    form_token: str
    expires_at: datetime

    def carries(self, form_token: str | None) -> bool:
        """Whether a form sent this session's token (so it came from one of our pages)."""
        return form_token is not None and hmac.compare_digest(form_token, self.form_token)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def sign_in_with_key(
    conn: Connection, secret: str, lifetime: timedelta, request_id: str | None = None
) -> tuple[str, SignedIn]:
    """A new session for the key whose secret this is (Unauthorized when there is none);
    Forbidden when the key has no page to read."""
    principal = await keys.authenticate(conn, secret.strip(), request_id)
    if not principal.roles.intersection(PAGE_ROLES):
        raise Forbidden("this key has no pages to read: pages are for probation and coordinators")
    return await start(conn, principal, lifetime)


async def start(
    conn: Connection, principal: Principal, lifetime: timedelta
) -> tuple[str, SignedIn]:
    """Open a session for `principal`: the cookie's token, and the session. Sessions that have
    expired are cleared away meanwhile, so that the table holds only those in use."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session = SignedIn(principal, secrets.token_urlsafe(32), now + lifetime)
    await session_store.remove(conn, None, now)
    await session_store.add(
        conn, _hash(token), principal.key_id, session.form_token, now, session.expires_at
    )
    details = {"expires_at": session.expires_at}
    await audit.record(conn, principal, audit.SIGN_IN, subject_type=audit.SESSION, details=details)
    return token, session


async def resume(
    conn: Connection, token: str | None, request_id: str | None = None
) -> SignedIn | None:
    """The session this cookie's token opened; None when there is none, it has expired, or its
    key has been revoked."""
    if not token:
        return None
    row = await session_store.active(conn, _hash(token), clock.now())
    if row is None:
        return None
    return SignedIn(keys.principal_of(row, request_id), row.form_token, row.expires_at)


async def end(conn: Connection, token: str, session: SignedIn) -> None:
    """Sign out: the token opens nothing any more (and expired sessions are cleared away)."""
    await session_store.remove(conn, _hash(token), clock.now())
    await audit.record(
        conn, session.principal, audit.SIGN_OUT, subject_type=audit.SESSION, details={}
    )
