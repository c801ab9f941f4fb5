"""Refuse, before any route sees them, URLs with control characters and bodies over the limit.

One pure-ASGI layer does both, so that a request pays for one layer, not two.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import urls
from app.api.problems import problem

_CONTENT_LENGTH = b"content-length"


class RequestGate:
    """ASGI middleware: a URL with a control character gets a 422 validation problem
    (app/api/urls.py); a body over `max_bytes` gets 413, whether or not it declares a length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loc = urls.offending(scope)
        if loc is not None:
            await urls.refusal(loc)(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        first = await receive()
        if first["type"] == "http.disconnect":
            return
        if first.get("more_body", False):
            await self._read_the_rest(scope, receive, send, first)
        elif len(first.get("body", b"")) > self.max_bytes:
            await self._refuse(scope, receive, send)
        else:
            # The whole body came in one message (always so for a GET): hand that on as it is.
            await self.app(scope, _replay(first, receive), send)

    async def _read_the_rest(
        self, scope: Scope, receive: Receive, send: Send, first: Message
    ) -> None:
        body, message = bytearray(), first
        while True:
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
            message = await receive()
            if message["type"] == "http.disconnect":
                return
        whole: Message = {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(whole, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes} bytes"
        await problem("payload-too-large", detail)(scope, receive, send)


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
