"""What the pages show, through the app on both databases: the same numbers, lists and records
as the API, in words (the browser tests in tests/e2e/test_pages.py drive a real server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from app.web.pages import percent, thousands
from tests.support.api import Api
from tests.support.envelopes import event, london_today, nomis
from tests.web.support import browsing, secret_of, sign_in


@pytest.fixture
def site(database_url: str) -> Iterator[Api]:
    with browsing(database_url) as api:
        yield api


def _released_in_treatment(api: Api, n: int, released_on: date, prison: str = "MDI") -> None:
    person = {"nomis": nomis(n)}
    started = event(
        "prison.treatment.started",
        f"tx-{n}",
        person=person,
        occurred_on=str(released_on - timedelta(days=30)),
        substance_group="opiate",
        on_ost=False,
    )
    released = event(
        "prison.released",
        f"rel-{n}",
        person=person,
        occurred_on=str(released_on),
        release_type="conditional_release",
        prison=prison,
    )
    for body in (started, released):
        assert api.post(body).status_code == 201, api.post(body).text


def test_the_overview_shows_the_api_s_numbers_with_separators_and_links_to_gap_lists(
    site: Api,
) -> None:
    for n in range(1, 4):
        _released_in_treatment(site, n, date(2026, 1, 10))
    query = {"released_from": "2026-01-01", "released_to": "2026-01-31", "as_of": "2026-03-01"}
    total = site.metrics(**query).json()["total"]
    sign_in(site.client, secret_of(site.coordinator))
    page = site.client.get("/overview", params={**query, "group_by": "prison"})
    assert page.status_code == 200
    shown = dict(re.findall(r'data-count="(\w+)">([^<\s]+)', page.text))
    assert shown["released_in_treatment"] == str(total["released_in_treatment"]) == "3"
    assert shown["pickup_rate"] == "0.0%"
    assert page.text.count("<svg") == 2
    link = "/releases?released_from=2026-01-01&amp;released_to=2026-01-31&amp;as_of=2026-03-01"
    assert f'href="{link}&amp;prison=MDI"' in page.text


def _table(page: str, table: str) -> dict[str, list[str]]:
    """The rows of one of the overview's tables: {row header: [its cells]}."""
    body = page.split(table, 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row"[^>]*>(.*?)</th>(.*?)</tr>', body, re.S)
    return {
        re.sub(r"<[^>]+>", "", header): re.findall(r'--numeric">([^<]*)<', cells)
        for header, cells in rows
    }


def _shown(row: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [percent(row[n]) if "rate" in n else thousands(row[n]) for n in names]


def test_the_overview_s_tables_are_the_api_s_groupings(site: Api) -> None:
    """The page reads its funnel, its table by group and its months in one pass: each as the
    API's metrics grouped that way."""
    released = [(date(2026, 1, 10), "MDI"), (date(2026, 1, 31), "LEI"), (date(2026, 2, 1), "MDI")]
    for n, (day, prison) in enumerate(released, start=1):
        _released_in_treatment(site, n, day, prison)
    query = {"released_from": "2026-01-01", "released_to": "2026-02-28", "as_of": "2026-03-10"}
    sign_in(site.client, secret_of(site.coordinator))
    page = site.client.get("/overview", params={**query, "group_by": "prison"}).text
    by_prison = site.metrics(**query, group_by="prison").json()["rows"]
    by_month = site.metrics(**query, group_by="month").json()["rows"]
    group_names = ("released_in_treatment", "picked_up", "pickup_rate", "retained_12w")
    wanted = {row["group"]: _shown(row, (*group_names, "retention_rate")) for row in by_prison}
    assert _table(page, 'id="groups"') == wanted
    assert list(wanted) == ["LEI", "MDI"]
    months = {row["group"]: _shown(row, ("pickup_due", "picked_up")) for row in by_month}
    assert {m: cells[:2] for m, cells in _table(page, "Pickup rate by month").items()} == months
    assert list(months) == ["2026-01", "2026-02"]


def test_blank_filters_are_dropped_from_the_address(site: Api) -> None:
    sign_in(site.client, secret_of(site.coordinator))
    answer = site.client.get(
        "/releases?stage=&prison=mdi&released_from=&as_of=", follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/releases?prison=mdi")


def test_the_gap_list_counts_days_and_offers_the_api_s_csv(site: Api) -> None:
    today = london_today()
    _released_in_treatment(site, 1, today - timedelta(days=5))
    sign_in(site.client, secret_of(site.coordinator))
    page = site.client.get("/releases", params={"prison": "mdi"})
    assert page.status_code == 200
    cells = re.findall(r'govuk-table__cell--numeric">(\d+)<', page.text)
    assert cells == ["5", str(21 - 5)]
    assert "No referral to community treatment before release" in page.text
    mine = site.client.get("/releases.csv", params={"prison": "mdi"})
    theirs = site.releases(prison="MDI", format="csv")
    assert mine.headers["content-type"] == theirs.headers["content-type"]
    assert mine.text == theirs.text and mine.text.count("\r\n") == 2


def test_bad_filters_are_a_page_saying_what_is_wrong(site: Api) -> None:
    sign_in(site.client, secret_of(site.coordinator))
    for query in ("stage=nowhere", "flag=no_hope", "released_from=yesterday", "cursor=zzz"):
        answer = site.client.get(f"/releases?{query}")
        assert answer.status_code == 422, query
        assert answer.headers["content-type"].startswith("text/html")
        assert "There is a problem with what was asked" in answer.text


def test_the_handover_page_says_what_to_do_about_each_open_gap(site: Api) -> None:
    _released_in_treatment(site, 1, london_today() - timedelta(days=2))
    sign_in(site.client, secret_of(site.probation))
    page = site.client.get(f"/people/nomis/{nomis(1).lower()}")
    assert page.status_code == 200
    assert "Waiting to be picked up" in page.text
    assert "19 days left" in page.text
    assert "Ask the probation practitioner to vary the licence" in page.text
    assert "Refer the person to the community treatment provider." in page.text
    unknown = site.client.get("/people/nomis/A9999ZZ")
    assert unknown.status_code == 404
    assert "no person is known by nomis A9999ZZ" in unknown.text


def test_the_styles_fonts_and_scripts_are_served_by_joinup(site: Api) -> None:
    page = site.client.get("/sign-in")
    linked = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js|mjs|ico|svg))"', page.text)
    assert "/assets/govuk/govuk-frontend.min.css" in linked
    for path in linked:
        assert site.client.get(path).status_code == 200, path
    css = site.client.get("/assets/govuk/govuk-frontend.min.css").text
    fonts = set(re.findall(r"url\((/assets/fonts/[^)]+)\)", css))
    assert fonts
    for font in fonts:
        assert site.client.get(font).status_code == 200, font
    assert "script-src 'self'" in page.headers["content-security-policy"]
