"""Reading JSON request bodies ourselves, so every route treats bad bodies alike: 415 for a body
not declared JSON, 400 for one that is not JSON (NaN and Infinity included), 422 for JSON of the
wrong shape."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.services.errors import ErrorItem, Invalid, ServiceError

Model = TypeVar("Model", bound=BaseModel)

# Models read by `model_body`; the OpenAPI hook adds their schemas to the document.
DOCUMENTED: list[type[BaseModel]] = []


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


def model_body(model: type[Model]) -> Callable[[Request], Coroutine[Any, Any, Model]]:
    """A dependency giving the body validated as `model`."""
    DOCUMENTED.append(model)

    async def read(request: Request) -> Model:
        raw = await json_body(request)
        try:
            return model.model_validate(raw)
        except ValidationError as error:
            errors = [ErrorItem(["body", *e["loc"]], e["msg"]) for e in error.errors()]
            raise Invalid("the request body does not match this operation", errors=errors) from None

    return read


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra` that documents a body read by `model_body(model)`."""
    return documented_schema(model.__name__)


def documented_schema(name: str) -> dict[str, Any]:
    """The `openapi_extra` that documents a required JSON body of the components' schema
    `name` (one `app.main` adds by hand, or a model's)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }
