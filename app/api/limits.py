"""Refuse, before any route sees them, URLs with control characters, bodies without a key and
bodies over the limit or too slow.

One pure-ASGI layer does all of it, so that a request pays for one layer, not several.
"""

from __future__ import annotations

import anyio
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import keyfirst, urls
from app.api.problems import problem

_CONTENT_LENGTH = b"content-length"


class RequestGate:
    """ASGI middleware: a URL with a control character gets a 422 validation problem
    (app/api/urls.py); a /v1 request that may carry a body and has no known key gets 401 before
    its body is read (app/api/keyfirst.py); a body over `max_bytes` (`max_open_bytes` where no
    key was checked first) gets 413, whether or not it declares a length; a body still coming
    after `body_seconds` gets 408."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_open_bytes: int = 64 * 1024,
        body_seconds: float = 30.0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_open_bytes = min(max_bytes, max_open_bytes)
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loc = urls.offending(scope)
        if loc is not None:
            await urls.refusal(loc)(scope, receive, send)
            return
        limit = self.max_bytes
        if keyfirst.applies(scope):
            refused = await keyfirst.refusal(scope)
            if refused is not None:
                await refused(scope, receive, send)
                return
        elif scope["method"] not in keyfirst.BODILESS:
            limit = self.max_open_bytes
        declared = _declared_length(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        try:
            with anyio.fail_after(self.body_seconds):
                whole = await _body(receive, limit)
        except TimeoutError:
            detail = f"the request body took longer than {self.body_seconds:g} s to arrive"
            await problem("request-timeout", detail)(scope, receive, send)
            return
        except _TooLarge:
            await _too_large(limit)(scope, receive, send)
            return
        if whole is not None:
            await self.app(scope, _replay(whole, receive), send)


class _TooLarge(Exception):
    pass


def _too_large(limit: int) -> Response:
    return problem("payload-too-large", f"the request body is larger than {limit} bytes")


async def _body(receive: Receive, limit: int) -> Message | None:
    """The whole body as one message (the first as it is when it is whole, always so for a
    GET), or None when the client went away."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    if not message.get("more_body", False):
        if len(message.get("body", b"")) > limit:
            raise _TooLarge
        return message
    body = bytearray()
    while True:
        body += message.get("body", b"")
        if len(body) > limit:
            raise _TooLarge
        if not message.get("more_body", False):
            return {"type": "http.request", "body": bytes(body), "more_body": False}
        message = await receive()
        if message["type"] == "http.disconnect":
            return None


def _declared_length(scope: Scope) -> bytes | None:
    declared = None
    for name, value in scope["headers"]:
        if name == _CONTENT_LENGTH:
            declared = value  # the last, should there be several
    return declared


def _replay(message: Message, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return message

    return replayed
