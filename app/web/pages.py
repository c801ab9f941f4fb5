"""What every page shares: the templates, the page router whose errors are pages, and the
response headers that keep pages to joinup's own files."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from app.services.errors import ServiceError
from app.web import words

log = logging.getLogger("joinup.web")

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

# Pages load styles, fonts, scripts and images from joinup alone. Charts are inline SVG, which
# sets some style attributes of its own.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_STATUS_TITLES: Final = {
    401: "Sign in to continue",
    403: "You cannot see this page",
    404: "Page not found",
    422: "There is a problem with what was asked",
}


# The hidden field every form carries (see app/web/signing.py).
FORM_FIELD: Final = "form_token"
# Pages another site may send a browser to without asking: they read nothing about anyone.
_OPEN_DOORS: Final = frozenset({"/", "/sign-in"})


class SignInNeeded(Exception):
    """The browser is not signed in (or its session has ended): it is sent to sign in."""


NONE: Final = "\N{EN DASH}"


def thousands(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def percent(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.1f}%"


def long_date(value: date | str | None) -> str:
    if value is None:
        return NONE
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return f"{day.day} {day:%B %Y}"


TEMPLATES.env.filters["thousands"] = thousands
TEMPLATES.env.filters["percent"] = percent
TEMPLATES.env.filters["long_date"] = long_date
TEMPLATES.env.globals["words"] = words


def render(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> Response:
    """A page, with the signed-in session (if any) there for the header's sign-out form."""
    full = {"session": getattr(request.state, "session", None), **context}
    response = TEMPLATES.TemplateResponse(request, template, full, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def sign_in_redirect(request: Request) -> Response:
    query = urlencode(
        {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
    )
    return RedirectResponse(f"/sign-in?{query}", status_code=303)


def error_page(request: Request, status: int, detail: str, problems: list[str]) -> Response:
    title = _STATUS_TITLES.get(status, "Sorry, there is a problem")
    context = {"title": title, "detail": detail, "problems": problems}
    return render(request, "error.html", context, status)


def _validation_problems(exc: RequestValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]


class PageRoute(APIRoute):
    """A page route: its errors are pages, not problem documents, and a browser that is not
    signed in is sent to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            if request.method == "GET" and _has_blanks(request):
                return _without_blanks(request)
            if request.method == "GET" and _from_another_site(request):
                return _confirm(request)
            try:
                response = await handle(request)
            except SignInNeeded:
                return sign_in_redirect(request)
            except RequestValidationError as exc:
                detail = "Check what was asked for and try again."
                return error_page(request, 422, detail, _validation_problems(exc))
            except ServiceError as exc:
                status = _status_of(exc)
                problems = [f"{'.'.join(str(p) for p in e.loc[1:])}: {e.msg}" for e in exc.errors]
                return error_page(request, status, exc.detail, problems)
            response.headers.update(SECURITY_HEADERS)
            return response

        return page


def _has_blanks(request: Request) -> bool:
    return any(k == FORM_FIELD or v == "" for k, v in request.query_params.multi_items())


def _without_blanks(request: Request) -> Response:
    """A filter form sends its empty fields too, and its form token: the same page without them
    (so a blank date means no date, and the address reads as the API's would, with no token)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != FORM_FIELD and v]
    target = request.url.path + (f"?{urlencode(kept)}" if kept else "")
    return RedirectResponse(target, status_code=303)


def _from_another_site(request: Request) -> bool:
    """Whether another site sent the browser here (the Fetch Metadata header browsers send).

    A page read is audited as the reader's: a link on another site must not make a signed-in
    browser read a person, or a list, without the reader choosing to.
    """
    return (
        request.headers.get("sec-fetch-site") == "cross-site"
        and request.url.path not in _OPEN_DOORS
    )


def _confirm(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "confirm.html", {"title": "Open this page?", "target": here})


def _status_of(exc: ServiceError) -> int:
    return {"unauthorized": 401, "forbidden": 403, "not-found": 404}.get(exc.slug, 422)
