"""A real server process keeps a licence activation pending while CVL is down and stores it,
once, when CVL is back: retried by the server's own background worker (JOINUP_INLINE_WORKER)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support import hmpps as published
from tests.support.hmpps_servers import CLIENT_ID, CLIENT_SECRET, hmpps_servers
from tests.support.server import ADMIN, new_key, serve

pytestmark = pytest.mark.e2e

NOMS, CRN = "A1234BC", "X123456"
PATH = "/v1/integrations/hmpps/events"


def until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_cvl_down_then_up_the_licence_arrives_once(database_url: str, tmp_path: Path) -> None:
    with hmpps_servers() as hmpps:
        hmpps.licences["4001"] = published.cvl_licence(
            "4001", CRN, NOMS, {"code": published.DRUG_TESTING, "text": "Attend drug testing"}
        )
        hmpps.down = True
        env = {
            "JOINUP_CVL_URL": hmpps.cvl_url,
            "JOINUP_HMPPS_AUTH_URL": hmpps.auth_url,
            "JOINUP_HMPPS_CLIENT_ID": CLIENT_ID,
            "JOINUP_HMPPS_CLIENT_SECRET": CLIENT_SECRET,
            "JOINUP_HMPPS_RETRY_SECONDS": "0.5",
            "JOINUP_ADMIN_KEY": ADMIN,
        }
        with serve(database_url, tmp_path / "server.log", env=env) as server:
            key = new_key(server.url, "HMPPS")
            probation = new_key(server.url, "PROBATION", "probation")
            envelope = published.licence(
                "4001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
            )
            answer = httpx.post(f"{server.url}{PATH}", json=envelope, headers=key).json()
            assert answer["status"] == "pending", answer
            timeline = f"{server.url}/v1/people/nomis/{NOMS}/timeline"
            assert httpx.get(timeline, headers=probation).status_code == 404
            hmpps.down = False
            until(lambda: httpx.get(timeline, headers=probation).status_code == 200)
            again = httpx.post(f"{server.url}{PATH}", json=envelope, headers=key).json()
            events = httpx.get(timeline, headers=probation).json()["events"]
            admin = {"Authorization": f"Bearer {ADMIN}"}
            metrics = httpx.get(f"{server.url}/metrics", headers=admin).text
    assert again == {"status": "duplicate", "events": answer["events"]}
    assert [(e["event_id"], e["type"]) for e in events] == [
        (answer["events"][0], "licence.activated")
    ]
    assert events[0]["data"]["conditions"] == [
        {"category": "drug_testing", "code": published.DRUG_TESTING}
    ]
    activated = 'type="create-and-vary-a-licence.licence.activated"'
    for outcome in ("pending", "accepted", "duplicate"):
        line = f'joinup_hmpps_domain_events_total{{outcome="{outcome}",{activated}}} 1.0'
        assert line in metrics
