"""Security headers on every answer, errors and 500s included.

The API answers JSON and CSV only, so browsers get the strictest policy: nothing may load, nothing
may frame it, nothing is sniffed, and no `/v1` answer (they hold personal data) is kept in any
cache. The one exception is the Swagger UI and ReDoc pages, which need their scripts and styles
from the CDN that FastAPI points them at (and an inline script that starts them); they show the
public OpenAPI document and no personal data.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    "default-src 'none'; "
    "script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "connect-src 'self'; "
    "worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


_STRICT = [*_ALWAYS, (b"content-security-policy", STRICT_POLICY.encode())]
_PERSONAL = [*_STRICT, (b"cache-control", b"no-store")]
_DOCS = [*_ALWAYS, (b"content-security-policy", DOCS_POLICY.encode())]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers for an answer to `path`."""
    if _is_under(path, "/v1"):
        return _PERSONAL
    if any(_is_under(path, prefix) for prefix in DOCS_PATHS):
        return _DOCS
    return _STRICT


class SecurityHeaders:
    """ASGI middleware: adds `headers_for(path)`, leaving any header the app set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [h for h in added if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Wrap the whole built stack, so that the 500s Starlette's error middleware sends get the
    headers too (it sits outside every middleware added with `add_middleware`)."""
    build = app.build_middleware_stack

    def secured() -> ASGIApp:
        return SecurityHeaders(build())

    app.build_middleware_stack = secured  # type: ignore[method-assign]
