"""Security headers on every answer, errors and 500s included.

The API answers JSON and CSV only, so browsers get the strictest policy: nothing may load, nothing
may frame it, nothing is sniffed, and no `/v1` answer (they hold personal data) is kept in any
cache. The one exception is the Swagger UI and ReDoc pages, which load their scripts and styles
from joinup itself (`DOCS_ASSETS`, from the fastapi-offline package), start them with an inline
script, and draw with inline styles and `data:` images; they show the public OpenAPI document
and no personal data. Nothing of theirs comes from another host.
"""

from __future__ import annotations

from collections.abc import Iterable

STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# Where the docs pages' own scripts, styles and icon are served.
DOCS_ASSETS = "/docs/assets"
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
_NAMES = frozenset(name for name, _ in [*_PERSONAL, *_DOCS])


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers for an answer to `path`."""
    if _is_under(path, "/v1"):
        return _PERSONAL
    for prefix in DOCS_PATHS:
        if _is_under(path, prefix):
            return _DOCS
    return _STRICT


def secured(
    path: str, headers: Iterable[tuple[bytes, bytes]], *more: tuple[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    """An answer's `headers`, then the security headers for `path` that the app did not set
    itself, then `more`. app/api/observability.py adds them to every answer, 500s included."""
    answer = list(headers)
    added = headers_for(path)
    present = {name.lower() for name, _ in answer}
    if present.isdisjoint(_NAMES):
        answer += added
    else:
        answer += [header for header in added if header[0] not in present]
    answer += more
    return answer
