"""CSV for spreadsheets (CONTRACT §5): the gap list's and the metrics', read back with Python's
csv module as a spreadsheet would read them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from app.domain.vocabulary import FlagCode
from app.services import spreadsheet
from tests.support.api import Api
from tests.support.envelopes import crn, event, nomis
from tests.web.support import browsing, secret_of, sign_in

AS_OF = "2026-04-30"
# Free text a spreadsheet would run: each must arrive as text, behind a `'`.
FORMULAS = ('=HYPERLINK("http://example.test/x","click")', "@SUM(A1:A9)", "+1+1", "-2+3")


def _release_of(api: Api, n: int, provider: str, prison: str = "MDI") -> None:
    person = {"nomis": nomis(n), "crn": crn(n)}
    started = event("prison.treatment.started", f"ts-{n}", person=person, occurred_on="2026-01-15")
    released = event(
        "prison.released",
        f"rel-{n}",
        person=person,
        release_type="hdc",
        prison=prison,
        community_provider=provider,
    )
    answer = api.batch([started, released])
    assert answer.json()["accepted"] == 2, answer.text


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    assert reader.fieldnames is not None
    return list(reader.fieldnames), rows


@pytest.fixture
def posted(api: Api) -> Api:
    for n, provider in enumerate(FORMULAS, start=1):
        _release_of(api, n, provider, prison="MDI" if n % 2 else "LPI")
    return api


def test_the_gap_list_csv_neutralises_formulas_and_spells_values_out(posted: Api) -> None:
    answer = posted.releases(as_of=AS_OF, format="csv")
    assert answer.status_code == 200, answer.text
    header, rows = _rows(answer.text)
    assert header == list(spreadsheet.RELEASE_COLUMNS)
    for code in FlagCode:
        assert header.index(f"{code}_resolved_on") == header.index(f"{code}_raised_on") + 1
    assert sorted(row["community_provider"] for row in rows) == sorted("'" + f for f in FORMULAS)
    for row in rows:
        assert row["nomis"] and row["crn"] and row["pnc"] == ""
        assert (row["in_treatment_at_release"], row["on_ost"]) == ("true", "true")
        # Not picked up in the window: decided, it cannot be retained.
        assert (row["stage"], row["retained_12w"]) == ("not_picked_up", "false")
        assert (row["released_on"], row["pickup_due_by"]) == ("2026-03-02", "2026-03-23")
        assert (row["no_ost_raised_on"], row["no_ost_resolved_on"]) == ("2026-03-02", "")
        assert row["not_picked_up_raised_on"] == "2026-03-24"
        assert row["picked_up_on"] == row["excluded_reason"] == ""
        assert row["as_of"] == AS_OF


def test_a_flag_not_raised_by_as_of_has_empty_cells(posted: Api) -> None:
    _, rows = _rows(posted.releases(as_of="2026-03-10", format="csv").text)
    assert rows and all(row["stage"] == "awaiting_pickup" for row in rows)
    assert {(row["not_picked_up_raised_on"], row["not_picked_up_resolved_on"]) for row in rows} == {
        ("", "")
    }
    # A Windows-written spreadsheet needs no more than RFC 4180's line ends.
    assert posted.releases(as_of="2026-03-10", format="csv").text.count("\r\n") == len(rows) + 1


def test_the_page_s_download_is_the_api_s_csv(database_url: str) -> None:
    with browsing(database_url) as site:
        _release_of(site, 1, FORMULAS[0])
        sign_in(site.client, secret_of(site.coordinator))
        page = site.client.get("/releases", params={"as_of": AS_OF})
        assert f'href="/releases.csv?as_of={AS_OF}"' in page.text
        mine = site.client.get("/releases.csv", params={"as_of": AS_OF})
        assert mine.status_code == 200
        assert mine.text == site.releases(as_of=AS_OF, format="csv").text
    _, rows = _rows(mine.text)
    assert [row["community_provider"] for row in rows] == ["'" + FORMULAS[0]]


def _numbers(row: dict[str, str]) -> dict[str, Any]:
    return {name: (float(v) if "." in v else int(v)) if v else None for name, v in row.items()}


def test_the_metrics_csv_has_a_row_per_group_with_the_json_s_counts(posted: Api) -> None:
    json_answer = posted.metrics(as_of=AS_OF, group_by="prison").json()
    answer = posted.metrics(as_of=AS_OF, group_by="prison", format="csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    header, rows = _rows(answer.text)
    assert header[0] == "prison" and header[-3:] == ["as_of", "released_from", "released_to"]
    assert [row["prison"] for row in rows] == [group["group"] for group in json_answer["rows"]]
    assert [row["prison"] for row in rows] == ["LPI", "MDI"]
    for row, group in zip(rows, json_answer["rows"], strict=True):
        counts = _numbers({name: row[name] for name in header[1:-3]})
        assert counts == {name: group[name] for name in header[1:-3]}
        assert (row["as_of"], row["released_from"]) == (AS_OF, "")
    assert sum(int(row["released_in_treatment"]) for row in rows) == len(FORMULAS)


def test_ungrouped_metrics_csv_is_one_row_of_the_totals(posted: Api) -> None:
    by_accept = posted.client.get(
        "/v1/metrics/continuity",
        params={"as_of": AS_OF},
        headers={**posted.coordinator, "Accept": "text/csv"},
    )
    header, rows = _rows(by_accept.text)
    total = posted.metrics(as_of=AS_OF).json()["total"]
    assert len(rows) == 1 and header[0] == "released_in_treatment"
    assert _numbers({name: rows[0][name] for name in header[:-3]}) == {
        name: total[name] for name in header[:-3]
    }
    # A rate with nothing due is no number: an empty cell, not "None".
    assert rows[0]["retention_rate"] == ""


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_lead_is_neutralised(lead: str) -> None:
    assert spreadsheet.cell(lead + "1") == "'" + lead + "1"
    assert spreadsheet.cell("a" + lead) == "a" + lead
