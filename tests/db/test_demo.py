"""joinup demo loads a year whose metrics are exactly the planned figures, and is safe twice.

The figures loaded are compared with the rules run directly on the same events, and the whole
national year (not only the small slice loaded here) is run through the rules too.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from app.cli import load_demo
from app.demo import year as demo_data
from app.domain import metrics
from app.domain.records import derive
from app.domain.rules import Rules
from app.services import clock, derivation
from app.services.ingest import submissions
from app.settings import Settings

SCALE = 0.02


def derived_figures(scale: float, as_of: date) -> dict[str, Any]:
    """§5's table over the demo year's people, each person's events run through `derive`."""
    tallies = []
    for person in demo_data.people(scale):
        events = []
        for seq, posting in enumerate(person):
            parsed = submissions.parse(posting.event, seq, as_of)
            assert parsed.event is not None, parsed.problem
            given = parsed.event
            data = given.data.model_dump(mode="json")
            events.append(
                derivation.event_of(
                    seq, posting.org, given.event_id, given.type, given.occurred_on, data
                )
            )
        tallies += [metrics.tally(record) for record in derive(events, as_of, Rules())]
    return metrics.summarise(tallies)


def _postings(scale: float) -> int:
    return sum(len(person) for person in demo_data.people(scale))


def test_demo_year_gives_its_figures_and_loads_once(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=database_url)
    first = asyncio.run(load_demo(settings, SCALE))["total"]
    wanted = demo_data.expected(SCALE)
    assert {name: first[name] for name in wanted} == wanted
    assert first["excluded"] == 0
    assert first["pickup_rate"] == pytest.approx(
        wanted["picked_up"] / wanted["released_in_treatment"]
    )
    derived = derived_figures(SCALE, clock.today())
    assert {name: first[name] for name in derived} == derived
    again = asyncio.run(load_demo(settings, SCALE))["total"]
    assert again == first
    posted = _postings(SCALE)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == f"events: {posted:,} stored, 0 already stored, 0 refused"
    assert lines[-1] == f"events: 0 stored, {posted:,} already stored, 0 refused"


def test_the_full_year_plans_the_national_figures() -> None:
    assert demo_data.expected(1.0) == {
        "released_in_treatment": 25_255,
        "picked_up": 8_708,
        "retained_12w": 2_931,
    }


def test_the_full_year_run_through_the_rules_gives_the_national_figures() -> None:
    # A year after the last release, every pickup window and 12-week retention has settled.
    figures = derived_figures(1.0, date(2021, 3, 31))
    assert {name: figures[name] for name in demo_data.expected(1.0)} == demo_data.expected(1.0)
    assert figures["excluded"] == 0
    assert figures["awaiting_pickup"] == 0
    assert figures["pickup_rate"] == pytest.approx(8_708 / 25_255)
