"""The browser's side of a session: the cookie, the tokens that forms carry, and the dependency
that gives a page its signed-in caller.

Two cookies: `joinup_session` holds the session's token once signed in; `joinup_form` holds a
random token the sign-in form also carries in a hidden field (a form another site posts cannot
know it). Once signed in, every form carries the session's own form token instead, checked
against the session stored on the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Final

from fastapi import Depends, Form, Request
from starlette.responses import Response

from app.api.deps import runtime_of
from app.api.observability import current_caller_request_id, current_request_id
from app.services import sessions
from app.services.errors import Forbidden
from app.services.sessions import SignedIn
from app.web.pages import SignInNeeded

SESSION_COOKIE: Final = "joinup_session"
FORM_COOKIE: Final = "joinup_form"
_BAD_FORM: Final = "This form has expired or did not come from this service: go back and try again."


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure except over plain HTTP to a loopback address (a developer's own
    machine), where a browser would not send them back."""
    if request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def set_cookie(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path="/",
        secure=secure_cookies(request),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=secure_cookies(request), httponly=True, samesite="lax"
    )


def lifetime(request: Request) -> timedelta:
    return timedelta(hours=runtime_of(request).settings.session_hours)


def sign_in_form_token(request: Request) -> str:
    """The token of the browser's sign-in form: the one its cookie holds, or a new one."""
    return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)


def check_sign_in_form(request: Request, sent: str | None) -> None:
    held = request.cookies.get(FORM_COOKIE)
    if not (held and sent and hmac.compare_digest(held, sent)):
        raise Forbidden(_BAD_FORM)


async def signed_in(request: Request) -> SignedIn:
    """The browser's session, read with its key on every request (so a revoked key, or a
    session signed out elsewhere, stops at once); SignInNeeded when there is none."""
    rt = runtime_of(request)
    async with rt.db.read() as conn:
        session = await sessions.resume(
            conn, request.cookies.get(SESSION_COOKIE), current_request_id.get()
        )
    if session is None:
        raise SignInNeeded()
    caller_id = current_caller_request_id.get()
    session = replace(session, principal=replace(session.principal, caller_request_id=caller_id))
    request.state.session = session
    request.state.org = session.principal.org
    return session


Session = Annotated[SignedIn, Depends(signed_in)]


async def _posted_form(session: Session, form_token: Annotated[str, Form()] = "") -> SignedIn:
    if not session.carries(form_token):
        raise Forbidden(_BAD_FORM)
    return session


# A signed-in form post that carried the session's form token.
PostedForm = Annotated[SignedIn, Depends(_posted_form)]


def with_role(*roles: str) -> object:
    async def caller(session: Session) -> SignedIn:
        session.principal.require(*roles)
        return session

    return Depends(caller)


Reader = Annotated[SignedIn, with_role("probation", "coordinator")]
Coordinator = Annotated[SignedIn, with_role("coordinator")]
