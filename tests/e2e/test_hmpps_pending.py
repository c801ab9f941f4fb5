"""A real server process keeps a licence activation pending while CVL is down and stores it,
once, when CVL is back: retried by the server's own background worker (JOINUP_INLINE_WORKER), or
by a `joinup worker` process beside a server that runs none."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import hmpps as published
from tests.support.hmpps_servers import CLIENT_ID, CLIENT_SECRET, Hmpps, hmpps_servers
from tests.support.server import ADMIN, Server, new_key, serve, worker

pytestmark = pytest.mark.e2e

NOMS, CRN = "A1234BC", "X123456"
PATH = "/v1/integrations/hmpps/events"
ACTIVATED = 'type="create-and-vary-a-licence.licence.activated"'
METRIC = "joinup_hmpps_domain_events_total"


def until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def settings(hmpps: Hmpps) -> dict[str, str]:
    return {
        "JOINUP_CVL_URL": hmpps.cvl_url,
        "JOINUP_HMPPS_AUTH_URL": hmpps.auth_url,
        "JOINUP_HMPPS_CLIENT_ID": CLIENT_ID,
        "JOINUP_HMPPS_CLIENT_SECRET": CLIENT_SECRET,
        "JOINUP_HMPPS_RETRY_SECONDS": "0.5",
        "JOINUP_ADMIN_KEY": ADMIN,
    }


@dataclass
class Posted:
    """A licence activation posted while CVL is down: its answer, and how to read it back."""

    answer: dict[str, Any]
    envelope: dict[str, Any]
    key: dict[str, str]
    probation: dict[str, str]
    timeline: str

    def arrived(self) -> bool:
        return httpx.get(self.timeline, headers=self.probation).status_code == 200

    def events(self) -> list[dict[str, Any]]:
        answer = httpx.get(self.timeline, headers=self.probation)
        found: list[dict[str, Any]] = answer.json()["events"]
        return found


def post_while_cvl_is_down(server: Server, hmpps: Hmpps, licence_id: str) -> Posted:
    hmpps.down = True
    key = new_key(server.url, "HMPPS")
    probation = new_key(server.url, "PROBATION", "probation")
    envelope = published.licence(
        licence_id, "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
    )
    answer = httpx.post(f"{server.url}{PATH}", json=envelope, headers=key).json()
    assert answer["status"] == "pending", answer
    timeline = f"{server.url}/v1/people/nomis/{NOMS}/timeline"
    return Posted(answer, envelope, key, probation, timeline)


def counted(server: Server) -> str:
    """The domain event counts of the server's /metrics."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    text = httpx.get(f"{server.url}/metrics", headers=admin).text
    return "\n".join(line for line in text.splitlines() if line.startswith(METRIC))


def test_cvl_down_then_up_the_licence_arrives_once(database_url: str, tmp_path: Path) -> None:
    with hmpps_servers() as hmpps:
        hmpps.licences["4001"] = published.cvl_licence(
            "4001", CRN, NOMS, {"code": published.DRUG_TESTING, "text": "Attend drug testing"}
        )
        with serve(database_url, tmp_path / "server.log", env=settings(hmpps)) as server:
            posted = post_while_cvl_is_down(server, hmpps, "4001")
            assert not posted.arrived()
            hmpps.down = False
            until(posted.arrived)
            again = httpx.post(f"{server.url}{PATH}", json=posted.envelope, headers=posted.key)
            events = posted.events()
            metrics = counted(server)
    assert again.json() == {"status": "duplicate", "events": posted.answer["events"]}
    assert [(e["event_id"], e["type"]) for e in events] == [
        (posted.answer["events"][0], "licence.activated")
    ]
    assert events[0]["data"]["conditions"] == [
        {"category": "drug_testing", "code": published.DRUG_TESTING}
    ]
    for outcome in ("pending", "accepted", "duplicate"):
        assert f'{METRIC}{{outcome="{outcome}",{ACTIVATED}}} 1.0' in metrics


def test_a_joinup_worker_process_stores_what_a_server_without_a_worker_kept_pending(
    database_url: str, tmp_path: Path
) -> None:
    with hmpps_servers() as hmpps:
        hmpps.licences["4002"] = published.cvl_licence("4002", CRN, NOMS)
        env = {**settings(hmpps), "JOINUP_INLINE_WORKER": "0"}
        with serve(database_url, tmp_path / "server.log", env=env) as server:
            posted = post_while_cvl_is_down(server, hmpps, "4002")
            hmpps.down = False
            log = tmp_path / "worker.log"
            with worker(database_url, log, env) as process:
                until(posted.arrived)
            events = posted.events()
            metrics = counted(server)
    assert process.returncode == 0, log.read_text()
    assert [e["event_id"] for e in events] == posted.answer["events"]
    # The worker stored it (the server runs no worker), and its count reached the server.
    (stored,) = [line for line in log.read_text().splitlines() if "pending domain event" in line]
    assert "accepted" in stored and posted.answer["events"][0] in stored
    assert "pending domain event" not in (tmp_path / "server.log").read_text()
    for outcome in ("pending", "accepted"):
        assert f'{METRIC}{{outcome="{outcome}",{ACTIVATED}}} 1.0' in metrics
