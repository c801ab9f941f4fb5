"""The README's promise, as a new user would try it: after `scripts/serve` and `joinup demo` (the
whole national year, not a slice), a coordinator signs in and reads 25,255 / 8,708 / 34.5% /
2,931 on the overview for April 2019 to March 2020, sees it as a chart, and gets from there to
a gap list and a person, with JavaScript on and off.

Loading the year is a minute or two of CPU (about 140,000 events through the rules): this module
holds one test, so that however the suite is spread over processes the year is loaded once.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import (
    Site,
    accessible,
    funnel,
    load_demo,
    new_context,
    secret_of,
    sign_in,
)
from tests.support.server import ADMIN, new_key, serve

pytestmark = pytest.mark.e2e

YEAR = "released_from=2019-04-01&released_to=2020-03-31"
# The national figures the demo year is shaped like (PHOF C20, 2019-20).
NATIONAL = {
    "released_in_treatment": "25,255",
    "picked_up": "8,708",
    "pickup_rate": "34.5%",
    "retained_12w": "2,931",
}


def _from_the_overview_to_a_person(browser: Browser, site: Site, secret: str, js: bool) -> None:
    context, visits = new_context(browser, site, java_script_enabled=js)
    page = context.new_page()
    sign_in(page, secret, check=js)  # axe runs as a script in the page
    assert page.url == f"{site.url}/overview"
    page.goto(f"/overview?{YEAR}")
    shown = funnel(page)
    assert {name: shown[name] for name in NATIONAL} == NATIONAL, f"JavaScript on: {js}"
    assert page.locator("figure svg").count() == 2
    if js:
        accessible(page)

    region = page.locator("#groups tbody a").first
    name = region.inner_text()
    region.click()
    expect(page.get_by_role("heading", name="Gap list")).to_be_visible()
    assert page.url.startswith(f"{site.url}/releases?") and YEAR in page.url
    listed = page.locator("#releases tbody th a")
    assert listed.count() > 0, f"no releases listed for {name}"

    listed.first.click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    assert "/people/" in page.url
    if js:
        accessible(page)
    assert visits.elsewhere(site.url) == []
    context.close()


def test_after_serve_and_demo_a_coordinator_reads_the_national_year(
    tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> None:
    folder = tmp_path_factory.mktemp("demo-year")
    database_url = f"sqlite:///{folder / 'joinup.db'}"
    with serve(database_url, folder / "server.log", env={"JOINUP_ADMIN_KEY": ADMIN}) as server:
        load_demo(database_url, 1.0, timeout=1800)
        secret = secret_of(new_key(server.url, "ORG-COORDINATOR", "coordinator"))
        site = Site(server, {"coordinator": secret})
        for js in (True, False):
            _from_the_overview_to_a_person(browser, site, secret, js)
