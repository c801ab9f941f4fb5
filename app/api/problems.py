"""Every error as application/problem+json (RFC 9457), with a stable slug ending `type`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from app.schemas import messages
from app.services.errors import ErrorItem, ServiceError
from app.services.storage import DatabaseUnavailable

log = logging.getLogger("joinup.api")

MEDIA_TYPE = "application/problem+json"
STATUS_BY_SLUG = {
    # Before "forbidden", which stays the slug of a bare 403 (`_SLUG_BY_STATUS`).
    "event-type-not-allowed": 403,
    "unauthorized": 401,
    "forbidden": 403,
    "not-found": 404,
    "validation-error": 422,
    # A page cursor given with filters other than those it was made with (CONTRACT §5).
    "cursor-mismatch": 422,
    "malformed-json": 400,
    "payload-too-large": 413,
    "request-timeout": 408,
    "unsupported-media-type": 415,
    "method-not-allowed": 405,
    "service-unavailable": 503,
    "rate-limited": 429,
    # HMPPS domain events (CONTRACT §8): CVL, HMPPS Auth or SNS answered other than asked (502),
    # or could not be reached to confirm a subscription or fetch a certificate (503, retry).
    "upstream-refused": 502,
    "upstream-unavailable": 503,
}
_SLUG_BY_STATUS = {status: slug for slug, status in STATUS_BY_SLUG.items()}
_TITLES = {
    "malformed-json": "Malformed JSON",
    "payload-too-large": "Payload too large",
    "request-timeout": "Request timeout",
    "unsupported-media-type": "Unsupported media type",
    "method-not-allowed": "Method not allowed",
    "not-found": "Not found",
    "service-unavailable": "Service unavailable",
    "internal-error": "Internal error",
    "rate-limited": "Too many requests",
}


# A body of a million unknown fields would otherwise get an answer several times its size.
MAX_ERRORS = 100


def problem_body(
    slug: str, title: str, status: int, detail: str, errors: Sequence[ErrorItem] = ()
) -> dict[str, Any]:
    if len(errors) > MAX_ERRORS:
        detail = f"{detail} (the first {MAX_ERRORS} of {len(errors)} errors are listed)"
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"loc": list(e.loc), "msg": e.msg} for e in errors[:MAX_ERRORS]]
    return body


def problem(
    slug: str,
    detail: str,
    *,
    status: int | None = None,
    title: str | None = None,
    errors: Sequence[ErrorItem] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    status = status or STATUS_BY_SLUG.get(slug, 409)
    title = title or _TITLES.get(slug, slug.replace("-", " ").capitalize())
    body = problem_body(slug, title, status, detail, errors)
    return Response(orjson.dumps(body), status, headers=headers, media_type=MEDIA_TYPE)


def status_of(error: ServiceError) -> int:
    return STATUS_BY_SLUG.get(error.slug, 409)


def from_service_error(error: ServiceError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.slug == "unauthorized" else None
    return problem(
        error.slug,
        error.detail,
        status=status_of(error),
        title=error.title,
        errors=error.errors,
        headers=headers,
    )


def _validation_items(exc: RequestValidationError) -> list[ErrorItem]:
    return [ErrorItem(list(e["loc"]), messages.message(e)) for e in exc.errors()]


async def _on_service_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return from_service_error(exc)


async def _on_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem("malformed-json", "the request body is not valid JSON")
    detail = "the request does not match what this operation takes"
    return problem("validation-error", detail, errors=_validation_items(exc))


async def _on_http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    slug = _SLUG_BY_STATUS.get(exc.status_code, "http-error")
    return problem(slug, str(exc.detail), status=exc.status_code, headers=exc.headers)


def unavailable() -> Response:
    """The answer while the database cannot be reached: 503, and when to try again."""
    detail = "the database cannot be reached just now; try again shortly"
    return problem("service-unavailable", detail, headers={"Retry-After": "5"})


async def _on_unavailable(_: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", exc)
    return unavailable()


async def _on_anything(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem("internal-error", "something went wrong on our side", status=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(DatabaseUnavailable, _on_unavailable)
    app.add_exception_handler(Exception, _on_anything)
