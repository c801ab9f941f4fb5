"""joinup demo loads a year whose metrics are exactly the planned figures, and is safe twice."""

from __future__ import annotations

import asyncio

import pytest

from app.cli import load_demo
from app.demo import year as demo_data
from app.settings import Settings

SCALE = 0.02


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
    again = asyncio.run(load_demo(settings, SCALE))["total"]
    assert again == first
    assert "0 stored" in capsys.readouterr().out.splitlines()[-1]


def test_the_full_year_plans_the_national_figures() -> None:
    assert demo_data.expected(1.0) == {
        "released_in_treatment": 25_255,
        "picked_up": 8_708,
        "retained_12w": 2_931,
    }
