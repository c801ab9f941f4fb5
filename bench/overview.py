"""The coordinators' overview at national scale: the page, and the metrics it reads.

Timed on a database that `bench/national.py` loaded, one request at a time:
- the page, `GET /overview` for a year by probation region, signed in as a coordinator: its
  metrics, its two charts drawn on the server, and its HTML;
- its metrics alone, `metrics.overview` (the service call the page makes: the funnel, the
  monthly trend and the table by group) in this process, straight on the database.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from datetime import date

import httpx

from app.db.engine import Database
from app.services import clock, metrics
from bench import ingest
from bench.infra import ADMIN, joinup
from bench.report import Report

YEAR = {"released_from": "2019-04-01", "released_to": "2020-03-31"}
_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _percentiles(took: list[float]) -> tuple[float, float]:
    took = sorted(took)
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


def _signed_in(client: httpx.Client, secret: str) -> None:
    form = client.get("/sign-in")
    found = _FORM_TOKEN.search(form.text)
    assert found is not None, "the sign-in page has no form token"
    answer = client.post("/sign-in", data={"key": secret, "form_token": found.group(1)})
    answer.raise_for_status()
    assert "joinup_session" in client.cookies, "signing in set no session"


def _page(url: str, group_by: str, samples: int) -> tuple[float, float]:
    """p50 and p99 in ms of the overview page, signed in as a coordinator."""
    secret = ingest.make_keys(url, ADMIN, ["NATIONAL-OVERVIEW"], "coordinator")
    params = {**YEAR, "group_by": group_by}
    took = []
    with httpx.Client(base_url=url, timeout=120, follow_redirects=True) as client:
        _signed_in(client, secret["NATIONAL-OVERVIEW"])
        client.get("/overview", params=params).raise_for_status()  # the charts' renderer starts
        for _ in range(samples):
            started = time.perf_counter()
            answer = client.get("/overview", params=params)
            took.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    return _percentiles(took)


async def _service(database_url: str, group_by: str, samples: int) -> tuple[float, float]:
    """p50 and p99 in ms of the overview's metrics, in this process."""
    db = Database(database_url)
    first, last = (date.fromisoformat(YEAR[name]) for name in ("released_from", "released_to"))
    took = []
    try:
        for _ in range(samples + 1):  # the first warms the connection pool
            started = time.perf_counter()
            async with db.read() as conn:
                await metrics.overview(conn, clock.today(), first, last, group_by)
            took.append((time.perf_counter() - started) * 1000)
    finally:
        await db.dispose()
    return _percentiles(took[1:])


def run(report: Report, database_url: str, samples: int = 30) -> None:
    """Time the overview of a year on `database_url`, loaded by the national benchmark."""
    for group_by in ("probation_region", "local_authority"):
        p50, p99 = asyncio.run(_service(database_url, group_by, samples))
        report.add(
            f"national: the overview's metrics, a year by {group_by} and month (service)",
            p99,
            "ms p99",
            p50=p50,
            p99=p99,
        )
    with joinup(database_url, workers=2) as server:
        p50, p99 = _page(server.url, "probation_region", samples)
    report.add(
        "national: the overview page, a year by probation_region, signed in",
        p99,
        "ms p99",
        p50=p50,
        p99=p99,
    )
