"""The key of a /v1 request that may carry a body, checked from its headers before any byte of
the body is read (CONTRACT §2): a caller without a key cannot make the server hold its body.

The caller found is kept in the request's state, where `deps.require` takes it instead of
looking the key up a second time.
"""

from __future__ import annotations

import binascii
from base64 import b64decode

from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.api.observability import current_request_id
from app.api.problems import problem, unavailable
from app.services import keys
from app.services.errors import Unauthorized
from app.services.storage import DatabaseUnavailable

BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})
# Routes that also take the key as an HTTP Basic password: SNS sends it only when challenged.
BASIC_PATHS = ("/v1/integrations/hmpps/",)


def applies(scope: Scope) -> bool:
    """A /v1 request whose method may carry a body."""
    return scope["method"] not in BODILESS and scope["path"].startswith("/v1/")


async def refusal(scope: Scope) -> Response | None:
    """None when the request's key is known (kept in its state), else the answer to send."""
    request = Request(scope)
    basic = scope["path"].startswith(BASIC_PATHS)
    try:
        async with request.app.state.runtime.db.read() as conn:
            secret = _secret(request.headers.get("authorization"), basic)
            principal = await keys.authenticate(conn, secret, current_request_id.get())
    except Unauthorized as refused:
        challenge = 'Basic realm="joinup"' if basic else "Bearer"
        return problem("unauthorized", refused.detail, headers={"WWW-Authenticate": challenge})
    except DatabaseUnavailable:
        return unavailable()
    request.state.principal_from_headers = principal
    return None


def _secret(authorization: str | None, basic: bool) -> str | None:
    scheme, value = get_authorization_scheme_param(authorization)
    if scheme.lower() == "bearer":
        return value or None
    if basic and scheme.lower() == "basic":
        try:
            _, _, password = b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or None
    return None
