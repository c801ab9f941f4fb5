"""The pages in a real browser (Chromium driven by Playwright) against a real server started
by scripts/serve, with a small demo year loaded: a coordinator reads the overview, filters and
pages the gap list, downloads its CSV and opens a person; probation is refused the
coordinators' pages; a submitter cannot sign in. axe-core checks every page, and no request
leaves the server's host.

One server and one browser for the module: starting them is most of the time these tests take.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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

YEAR = {"released_from": "2019-04-01", "released_to": "2020-03-31"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("pages")
    database_url = f"sqlite:///{folder / 'joinup.db'}"
    with serve(database_url, folder / "server.log", env={"JOINUP_ADMIN_KEY": ADMIN}) as server:
        load_demo(database_url, 0.01, timeout=300)
        keys = {
            role: secret_of(new_key(server.url, f"ORG-{role.upper()}", role))
            for role in ("coordinator", "probation", "submitter")
        }
        yield Site(server, keys)


def _metrics(site: Site) -> dict[str, Any]:
    answer = httpx.get(
        f"{site.url}/v1/metrics/continuity",
        params=YEAR,
        headers={"Authorization": f"Bearer {site.keys['coordinator']}"},
    )
    assert answer.status_code == 200
    total: dict[str, Any] = answer.json()["total"]
    return total


def _someone(site: Site) -> str:
    """The NOMIS number of someone released in the demo year."""
    answer = httpx.get(
        f"{site.url}/v1/releases",
        params={"limit": 1, "stage": "not_picked_up"},
        headers={"Authorization": f"Bearer {site.keys['coordinator']}"},
    )
    nomis: str = answer.json()["items"][0]["identifiers"]["nomis"]
    return nomis


def _expected_funnel(total: dict[str, Any]) -> dict[str, str]:
    return {
        "released_in_treatment": f"{total['released_in_treatment']:,}",
        "picked_up": f"{total['picked_up']:,}",
        "pickup_rate": f"{total['pickup_rate'] * 100:.1f}%",
        "retained_12w": f"{total['retained_12w']:,}",
        "retention_rate": f"{total['retention_rate'] * 100:.1f}%",
    }


def test_a_coordinator_reads_the_overview_follows_the_gap_list_and_opens_a_person(
    site: Site, browser: Browser
) -> None:
    context, visits = new_context(browser, site)
    page = context.new_page()
    sign_in(page, site.keys["coordinator"])
    assert page.url == f"{site.url}/overview"

    page.get_by_label("Released from").fill(YEAR["released_from"])
    page.get_by_label("Released to").fill(YEAR["released_to"])
    page.get_by_label("Table by").select_option("prison")
    page.get_by_role("button", name="Show").click()
    assert funnel(page) == _expected_funnel(_metrics(site))
    assert page.locator("figure svg").count() == 2
    accessible(page)

    # A prison's row leads to its gap list for the same period.
    first = page.locator("#groups tbody a").first
    prison = first.inner_text()
    first.click()
    assert re.search(rf"prison={prison}\b", page.url)
    accessible(page)

    # Filter: releases not picked up in the window, then page through them.
    page.get_by_text("Filter the list").click()  # closed while a filter is in force
    page.get_by_label("Stage").select_option("not_picked_up")
    page.get_by_role("button", name="Apply filters").click()
    assert "stage=not_picked_up" in page.url
    stages = page.locator("#releases tbody tr td:nth-child(5)").all_inner_texts()
    assert stages and set(stages) == {"Not picked up in the window"}

    page.goto("/releases?" + "&".join(f"{k}={v}" for k, v in YEAR.items()))
    first_page = page.locator("#releases tbody th").all_inner_texts()
    assert len(first_page) == 50
    page.get_by_role("link", name="Next page").click()
    second_page = page.locator("#releases tbody th").all_inner_texts()
    assert second_page and not set(second_page) & set(first_page)
    accessible(page)

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(downloading.value.path()).read_text())))
    released = {row["released_on"] for row in rows}
    assert rows and min(released) >= YEAR["released_from"] and max(released) <= YEAR["released_to"]
    assert set(first_page) <= {row["nomis"] or row["crn"] for row in rows}

    page.locator("#releases tbody th a").first.click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    assert "/people/" in page.url
    accessible(page)

    page.get_by_role("button", name=re.compile("Sign out")).click()
    assert page.url == f"{site.url}/sign-in"
    page.goto("/overview")
    assert page.url.startswith(f"{site.url}/sign-in")
    assert visits.elsewhere(site.url) == []
    context.close()


def test_the_overview_reads_the_same_without_javascript(site: Site, browser: Browser) -> None:
    context, visits = new_context(browser, site, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, site.keys["coordinator"], check=False)
    page.goto("/overview?" + "&".join(f"{k}={v}" for k, v in YEAR.items()))
    assert funnel(page) == _expected_funnel(_metrics(site))
    assert visits.elsewhere(site.url) == []
    context.close()


def test_probation_finds_a_person_but_not_the_coordinators_pages(
    site: Site, browser: Browser
) -> None:
    context, visits = new_context(browser, site)
    page = context.new_page()
    sign_in(page, site.keys["probation"])
    assert page.url == f"{site.url}/people"
    accessible(page)
    for path in ("/overview", "/releases"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 403
        expect(page.get_by_role("heading", name="You cannot see this page")).to_be_visible()
    accessible(page)

    someone = _someone(site)
    page.goto("/people")
    page.get_by_label("Number", exact=True).fill(someone.lower())
    page.get_by_role("button", name="Find").click()
    # The click returns once the redirect is followed; the page may still be drawing.
    expect(page.get_by_role("heading", name=re.compile(someone))).to_be_visible()
    assert page.url == f"{site.url}/people/nomis/{someone.lower()}"
    assert page.locator("#timeline tbody tr").count() > 0

    page.goto("/people")
    page.get_by_label("Number", exact=True).fill("A0000AA")
    page.get_by_role("button", name="Find").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    accessible(page)
    assert visits.elsewhere(site.url) == []
    context.close()


def test_a_submitter_key_cannot_sign_in(site: Site, browser: Browser) -> None:
    context, _ = new_context(browser, site)
    page = context.new_page()
    sign_in(page, site.keys["submitter"])
    assert page.url == f"{site.url}/sign-in"
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == "joinup_session"]
    accessible(page)
    context.close()
