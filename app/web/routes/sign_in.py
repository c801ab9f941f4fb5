"""Signing in with a key, signing out, and where `/` leads (CONTRACT §9)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from app.api.deps import runtime_of
from app.api.observability import current_request_id
from app.services import sessions
from app.services.errors import Forbidden, Unauthorized
from app.services.sessions import SignedIn
from app.web import charts, signing
from app.web.pages import PageRoute, SignInNeeded, render
from app.web.signing import FORM_COOKIE, SESSION_COOKIE, PostedForm

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_FORM_SECONDS = 3600
_UNKNOWN = "This key is not known, or it has been revoked"


def first_page(session: SignedIn) -> str:
    """The first page a key may see: the overview for coordinators, else the person search."""
    return "/overview" if "coordinator" in session.principal.roles else "/people"


def _safe_next(target: str | None) -> str | None:
    """A page of this service to go on to; never another site (`//host`, `/\\host`)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


@router.get("/")
async def home(request: Request) -> Response:
    try:
        session = await signing.signed_in(request)
    except SignInNeeded:
        return RedirectResponse("/sign-in", status_code=303)
    return RedirectResponse(first_page(session), status_code=303)


def _sign_in_page(
    request: Request, next_page: str | None, error: str | None = None, status: int = 200
) -> Response:
    token = signing.sign_in_form_token(request)
    context = {"title": "Sign in", "form_token": token, "next": next_page, "error": error}
    response = render(request, "sign_in.html", context, status)
    signing.set_cookie(request, response, FORM_COOKIE, token, _FORM_SECONDS)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    charts.warm_up()  # the overview, and its charts, come next
    return _sign_in_page(request, _safe_next(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    key: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    signing.check_sign_in_form(request, form_token)
    if not key.strip():
        return _sign_in_page(request, _safe_next(next), "Enter your key", 400)
    rt = runtime_of(request)
    try:
        async with rt.db.write() as conn:
            token, session = await sessions.sign_in_with_key(
                conn, key, signing.lifetime(request), current_request_id.get()
            )
    except Unauthorized:
        return _sign_in_page(
            request, _safe_next(next), "This key is not known, or it has been revoked", 401
        )
    except Forbidden as exc:
        return _sign_in_page(
            request, _safe_next(next), f"This key cannot sign in: {exc.detail}", 403
        )
    response = RedirectResponse(_safe_next(next) or first_page(session), status_code=303)
    seconds = int(signing.lifetime(request).total_seconds())
    signing.set_cookie(request, response, SESSION_COOKIE, token, seconds)
    signing.clear_cookie(request, response, FORM_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: PostedForm) -> Response:
    async with runtime_of(request).db.write() as conn:
        await sessions.end(conn, request.cookies.get(SESSION_COOKIE, ""), session)
    response = RedirectResponse("/sign-in", status_code=303)
    signing.clear_cookie(request, response, SESSION_COOKIE)
    return response
