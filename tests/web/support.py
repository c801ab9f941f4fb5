"""Driving the pages through the app in-process (the browser tests in tests/e2e drive a real
server): sign in as a browser would, with the sign-in form's token and the cookies it set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from app.main import create_app
from app.settings import Settings
from tests.support.api import ADMIN_SECRET, Api

_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@contextmanager
def browsing(database_url: str, base_url: str = "http://127.0.0.1") -> Iterator[Api]:
    app = create_app(Settings(database_url=database_url, admin_key=ADMIN_SECRET))
    with TestClient(app, base_url=base_url, raise_server_exceptions=False) as client:
        yield Api(client)


def form_token(page: Response) -> str:
    found = _FORM_TOKEN.search(page.text)
    assert found, "the page has no form token"
    return found.group(1)


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def sign_in(client: TestClient, secret: str, **form: Any) -> Response:
    page = client.get("/sign-in")
    assert page.status_code == 200
    body = {"key": secret, "form_token": form_token(page), **form}
    return client.post("/sign-in", data=body, follow_redirects=False)
