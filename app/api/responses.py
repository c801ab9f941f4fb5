"""Response helpers: fast JSON, and the problem responses an operation documents."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from app.api.problems import MEDIA_TYPE, STATUS_BY_SLUG
from app.api.schemas import Problem


class JSON(Response):
    """JSON encoded with orjson (dates and datetimes as ISO 8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problems(*slugs: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these problem slugs (and every operation's own)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for slug in (*slugs, "unauthorized", "forbidden"):
        status = STATUS_BY_SLUG.get(slug, 409)
        entry = documented.setdefault(
            status,
            {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": ""},
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], slug]))
    return documented


PUBLIC_PROBLEMS = ("service-unavailable",)
