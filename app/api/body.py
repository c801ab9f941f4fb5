"""Reading a JSON request body ourselves, where items must be judged one by one."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from app.services.errors import ServiceError


async def json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ServiceError(
            "send the body as application/json",
            slug="unsupported-media-type",
            title="Unsupported media type",
        )
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        raise ServiceError(
            f"the request body is not valid JSON: {error}",
            slug="malformed-json",
            title="Malformed JSON",
        ) from None
