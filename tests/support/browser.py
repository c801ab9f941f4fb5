"""Driving the pages in a real browser: Chromium by Playwright, axe-core on each page, and a
watch on every request the browser makes (none may leave the server's host)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.server import ROOT, Server

SERIOUS = {"serious", "critical"}


@dataclass
class Site:
    server: Server
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def load_demo(database_url: str, scale: float, timeout: float) -> None:
    """`joinup demo` into the database a server is serving, as its README says to."""
    env = {**os.environ, "JOINUP_DATABASE_URL": database_url}
    loaded = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "joinup"), "demo", "--scale", str(scale)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert loaded.returncode == 0, loaded.stderr


class Visits:
    """Every URL the browser asked for, to check that none left the server's host."""

    def __init__(self, context: BrowserContext) -> None:
        self.urls: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))

    def elsewhere(self, origin: str) -> list[str]:
        return [url for url in self.urls if not url.startswith(origin + "/")]


def new_context(browser: Browser, site: Site, **options: Any) -> tuple[BrowserContext, Visits]:
    context = browser.new_context(base_url=site.url, accept_downloads=True, **options)
    return context, Visits(context)


def accessible(page: Page) -> None:
    found = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"], v["help"]) for v in found if v["impact"] in SERIOUS]
    assert serious == [], f"{page.url}: {serious}"


def sign_in(page: Page, secret: str, *, check: bool = True) -> None:
    page.goto("/sign-in")
    if check:  # axe runs as a script in the page: not where scripts are off
        accessible(page)
    page.get_by_label("Key").fill(secret)
    page.get_by_role("button", name="Sign in").click()


def funnel(page: Page) -> dict[str, str]:
    cells = page.locator("#funnel [data-count]")
    return {
        cells.nth(i).get_attribute("data-count") or "": cells.nth(i).inner_text().split(" ")[0]
        for i in range(cells.count())
    }
