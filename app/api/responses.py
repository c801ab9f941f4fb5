"""Response helpers: fast JSON, and the problem responses an operation documents."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from app.api.problems import MEDIA_TYPE, STATUS_BY_SLUG
from app.schemas.api import Problem


class JSON(Response):
    """JSON encoded with orjson (dates and datetimes as ISO 8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problems(*slugs: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these problem slugs (and every operation's own)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for slug in (*slugs, "unauthorized", "forbidden", "rate-limited", "service-unavailable"):
        status = STATUS_BY_SLUG.get(slug, 409)
        entry = documented.setdefault(
            status,
            {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": ""},
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], slug]))
    return documented


PUBLIC_PROBLEMS = ("service-unavailable",)


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_BODY_PROBLEMS = {
    "400": "malformed-json",
    "413": "payload-too-large",
    "415": "unsupported-media-type",
}
_CALLER_PROBLEMS = ("401", "403", "429")


def document_problems(spec: dict[str, Any]) -> None:
    """Make the document say what the app sends on errors, for every operation at once.

    FastAPI documents a `responses` model under application/json and its own 422 as
    `HTTPValidationError`; joinup sends every error as application/problem+json. Every operation
    that reads a body can also answer 400, 413 and 415 (the body is read alike on every route),
    every operation with parameters or a body 422, and one without a key never 401, 403 or 429.
    """
    for operation in (op for path in spec["paths"].values() for op in path.values()):
        responses: dict[str, Any] = operation["responses"]
        if "requestBody" in operation:
            for status, slug in _BODY_PROBLEMS.items():
                responses.setdefault(status, {"description": slug})
        if "requestBody" in operation or operation.get("parameters"):
            responses.setdefault("422", {"description": "validation-error"})
        if "security" not in operation:
            for status in _CALLER_PROBLEMS:
                responses.pop(status, None)
        for status, response in responses.items():
            if status.isdigit() and int(status) >= 400:
                _as_problem(response)
    schemas = spec.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _as_problem(response: dict[str, Any]) -> None:
    content = response.get("content", {})
    schema = content.get(MEDIA_TYPE, {}).get("schema") or content.get("application/json", {}).get(
        "schema"
    )
    if schema is None or schema.get("$ref", "").endswith("/HTTPValidationError"):
        schema = _PROBLEM_REF
        if response.get("description") == "Validation Error":
            response["description"] = "validation-error"
    response["content"] = {MEDIA_TYPE: {"schema": schema}}
