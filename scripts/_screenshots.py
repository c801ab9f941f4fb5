"""scripts/screenshots: a PNG of each page, from the demo year, into docs/screenshots/."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SCALE = os.environ.get("JOINUP_SCREENSHOT_SCALE", "0.05")
YEAR = "released_from=2019-04-01&released_to=2020-03-31&as_of=2020-09-30"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            sys.exit("joinup exited before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sys.exit("joinup did not become ready")


def _key(url: str, admin: str, role: str) -> str:
    made = httpx.post(
        f"{url}/v1/keys",
        json={"org": f"DEMO-{role.upper()}", "roles": [role]},
        headers={"Authorization": f"Bearer {admin}"},
    )
    made.raise_for_status()
    return str(made.json()["secret"])


def _shoot(page: Page, path: str, name: str) -> None:
    page.goto(path)
    page.screenshot(path=OUT / f"{name}.png", full_page=False)
    print(f"docs/screenshots/{name}.png")


def _sign_in(page: Page, secret: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Key").fill(secret)
    page.get_by_role("button", name="Sign in").click()


def _photograph(url: str, coordinator: str, probation: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        page = browser.new_page(
            base_url=url, viewport={"width": 1100, "height": 1000}, locale="en-GB"
        )
        _shoot(page, "/sign-in", "sign-in")
        _sign_in(page, coordinator)
        _shoot(page, f"/overview?{YEAR}&group_by=probation_region", "overview")
        page.screenshot(path=OUT / "overview-charts.png", full_page=True, clip=_below(page))
        print("docs/screenshots/overview-charts.png")
        _shoot(page, f"/releases?{YEAR}&stage=not_picked_up&flag=no_ost", "gap-list")
        person = page.locator("#releases tbody th a").first.get_attribute("href")
        page.context.clear_cookies()
        _sign_in(page, probation)
        _shoot(page, "/people", "find-a-person")
        _shoot(page, str(person), "handover")  # dated as the gap list was
        browser.close()


def _below(page: Page) -> dict[str, float]:
    """The part of the overview with its charts."""
    top = page.locator("figure").first.bounding_box()
    bottom = page.locator("figure").last.bounding_box()
    assert top is not None and bottom is not None
    height = bottom["y"] + bottom["height"] - top["y"] + 32
    return {"x": 0, "y": top["y"] - 16, "width": 1100, "height": height}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        admin = secrets.token_urlsafe(24)
        port = _port()
        env = {
            **os.environ,
            "JOINUP_DATABASE_URL": f"sqlite:///{folder}/demo.db",
            "JOINUP_PORT": str(port),
            "JOINUP_ADMIN_KEY": admin,
        }
        joinup = str(ROOT / ".venv" / "bin" / "joinup")
        subprocess.run([joinup, "migrate"], env=env, cwd=ROOT, check=True)
        subprocess.run([joinup, "demo", "--scale", SCALE], env=env, cwd=ROOT, check=True)
        server = subprocess.Popen(
            [str(ROOT / "scripts" / "serve")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _ready(url, server)
            _photograph(url, _key(url, admin, "coordinator"), _key(url, admin, "probation"))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
