"""Faults a real deployment meets: the server killed with SIGKILL mid-load, and PostgreSQL
restarting under a running server.

kill -9: what a client was told was stored (it got the 200) is stored, nothing is stored twice,
posting everything again afterwards is safe, and the stored records equal a fresh derivation.
PostgreSQL restart: while the database is away the API answers 503 problems (never 500), and
the same server process answers again once it is back, without a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from app.db.engine import sync_url
from tests.conftest import POSTGRES_URL, empty
from tests.support.envelopes import event, nomis
from tests.support.expected import stored_and_fresh
from tests.support.server import ADMIN, Server, new_key, serve

pytestmark = pytest.mark.e2e

ORG = "HMP-FAULTS-HC"
BLOCK = 25  # people per block; a batch holds two blocks' events: 50 events of 50 people
BATCHES = 60
CLIENTS = 4
KILLS = 3

Batch = list[dict[str, Any]]


def _batches() -> list[Batch]:
    """Batch i: treatment starts of block i, releases of block i-1 (each person twice, apart)."""

    def started(n: int) -> dict[str, Any]:
        person = {"nomis": nomis(n)}
        return event(
            "prison.treatment.started", f"kill-tr-{n}", person=person, occurred_on="2025-01-15"
        )

    def released(n: int) -> dict[str, Any]:
        return event(
            "prison.released", f"kill-rel-{n}", person={"nomis": nomis(n)}, occurred_on="2025-03-02"
        )

    def block(i: int) -> range:
        return range((i % BATCHES) * BLOCK + 1, (i % BATCHES) * BLOCK + BLOCK + 1)

    return [
        [started(n) for n in block(i)] + [released(n) for n in block(i - 1)] for i in range(BATCHES)
    ]


@dataclass
class Load:
    """Client threads posting the batches not yet sent, until the server goes away."""

    url: str
    headers: dict[str, str]
    pending: Iterator[int]
    batches: list[Batch]
    acknowledged: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self) -> int | None:
        with self.lock:
            return next(self.pending, None)

    def client(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while (index := self._next()) is not None:
                body = {"events": self.batches[index]}
                try:
                    answer = client.post("/v1/events/batch", json=body, headers=self.headers)
                except httpx.TransportError:
                    self.lost.append(index)  # sent, never answered: stored or not, unknown
                    return
                if answer.status_code == 200 and answer.json()["rejected"] == 0:
                    self.acknowledged.append(index)
                else:
                    self.unexpected.append(f"{answer.status_code} {answer.text[:300]}")


def _wait_for(condition: Callable[[], bool], within: float, what: str) -> float:
    """Poll `condition` until it holds; the seconds it took. Fails after `within` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


def _stored(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        query = text("SELECT org, event_id, count(*) FROM event GROUP BY org, event_id")
        return [(row[0], row[1], row[2]) for row in conn.execute(query)]


def _event_ids(batches: list[Batch], indexes: list[int]) -> set[str]:
    return {e["event_id"] for i in indexes for e in batches[i]}


def _assert_served_with_safe_headers(server: Server) -> None:
    answer = httpx.get(f"{server.url}/healthz")
    assert "server" not in answer.headers  # scripts/serve: uvicorn --no-server-header
    assert answer.headers["x-content-type-options"] == "nosniff"


def _kill_mid_load(server: Server, load: Load, acknowledgements: int) -> None:
    """Post with CLIENTS threads; SIGKILL the server once a few batches have been answered
    (while the other threads' batches are in flight), the way `serve()` kills: the group."""
    threads = [threading.Thread(target=load.client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(load.acknowledged) >= acknowledgements, 60, "acknowledgements")
    os.killpg(server.process.pid, signal.SIGKILL)
    for thread in threads:
        thread.join(60)
    assert not load.unexpected, load.unexpected


def test_kill_9_mid_load_loses_no_acknowledged_event(database_url: str, tmp_path: Path) -> None:
    batches, pending = _batches(), iter(range(BATCHES))
    engine = create_engine(sync_url(database_url))
    env = {"JOINUP_ADMIN_KEY": ADMIN}
    acknowledged: list[int] = []
    lost: list[int] = []
    headers: dict[str, str] = {}
    try:
        for kill in range(KILLS):
            with serve(database_url, tmp_path / f"kill-{kill}.log", workers=2, env=env) as server:
                if not headers:
                    headers = new_key(server.url, ORG)
                    _assert_served_with_safe_headers(server)
                load = Load(server.url, headers, pending, batches)
                _kill_mid_load(server, load, acknowledgements=2 + 2 * kill)
            acknowledged += load.acknowledged
            lost += load.lost
            stored = _stored(engine)
            assert all(n == 1 for _, _, n in stored), "an event is stored twice"
            assert _event_ids(batches, acknowledged) <= {event_id for _, event_id, _ in stored}
        assert lost, "no batch was in flight at any kill"
        with serve(database_url, tmp_path / "after.log", env=env) as server:
            repost = Load(server.url, headers, iter(range(BATCHES)), batches)
            repost.client()
        assert not repost.unexpected and not repost.lost
        stored = _stored(engine)
    finally:
        engine.dispose()
    everything = _event_ids(batches, list(range(BATCHES)))
    assert len(stored) == len(everything) and all(n == 1 for _, _, n in stored)
    assert {event_id for _, event_id, _ in stored} == everything
    logs = "".join(log.read_text(errors="replace") for log in tmp_path.glob("*.log"))
    assert headers["Authorization"].split()[1] not in logs
    stored_versions, fresh_versions = stored_and_fresh(database_url)
    assert stored_versions == fresh_versions
    assert len(stored_versions) >= BATCHES * BLOCK


# --- PostgreSQL restarting under a running server -----------------------------------------


def _cluster(action: str) -> None:
    (version,) = sorted(os.listdir("/etc/postgresql"))[-1:]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _postgres_answers() -> bool:
    probe = create_engine(sync_url(POSTGRES_URL), pool_pre_ping=True)
    try:
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        probe.dispose()


def _status(url: str, path: str, headers: dict[str, str]) -> int:
    try:
        return httpx.get(f"{url}{path}", headers=headers, timeout=10).status_code
    except httpx.TransportError:
        return 0


@dataclass
class Traffic:
    """A client posting and reading all along; it keeps every answer's status."""

    url: str
    headers: dict[str, str]
    answers: list[tuple[int, str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        numbers = count(100)
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.wait(0.02):
                n = next(numbers)
                body = event(event_id=f"pg-{n}", person={"nomis": nomis(n)})
                for answer in (
                    client.post("/v1/events", json=body, headers=self.headers),
                    client.get("/v1/events/pg-1", headers=self.headers),
                ):
                    kind = answer.headers.get("content-type", "")
                    self.answers.append((answer.status_code, kind, answer.text[:300]))


@pytest.fixture
def postgres_url(postgres_database: tuple[str, Engine]) -> Iterator[str]:
    url, engine = postgres_database
    empty(engine)
    try:
        yield url
    finally:
        # Whatever happened, leave the shared server running for the tests that follow.
        if not _postgres_answers():
            _cluster("start")
        _wait_for(_postgres_answers, 120, "PostgreSQL is back")
        engine.dispose()


def _assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/service-unavailable")
    assert answer.headers["retry-after"].isdigit()


# Every other test's connections would die with the server: this one runs alone (scripts/test).
@pytest.mark.serial
def test_a_postgres_restart_gives_503s_then_the_same_server_recovers(
    postgres_url: str, tmp_path: Path
) -> None:
    with serve(postgres_url, tmp_path / "server.log", env={"JOINUP_ADMIN_KEY": ADMIN}) as server:
        headers = new_key(server.url, ORG)
        first = event(event_id="pg-1", person={"nomis": nomis(1)})
        assert httpx.post(f"{server.url}/v1/events", json=first, headers=headers).status_code == 201
        traffic = Traffic(server.url, headers)
        client = threading.Thread(target=traffic.run)
        client.start()
        try:
            _wait_for(lambda: len(traffic.answers) >= 10, 30, "traffic before the outage")
            _cluster("stop")
            _wait_for(lambda: _status(server.url, "/readyz", {}) == 503, 30, "/readyz 503")
            _assert_unavailable(httpx.get(f"{server.url}/v1/events/pg-1", headers=headers))
            _assert_unavailable(httpx.post(f"{server.url}/v1/events", json=first, headers=headers))
            _assert_unavailable(httpx.get(f"{server.url}/readyz"))
            outage = len(traffic.answers)
            _wait_for(lambda: len(traffic.answers) >= outage + 4, 30, "traffic in the outage")
            _cluster("start")
            took = _wait_for(lambda: _serves(server, headers), 60, "recovery after a start")
            # And a restart in one step, while the client keeps going.
            mark = len(traffic.answers)
            _cluster("restart")
            _wait_for(_postgres_answers, 60, "PostgreSQL after the restart")
            took = max(took, _wait_for(lambda: _serves(server, headers), 60, "recovery"))
            _wait_for(lambda: len(traffic.answers) >= mark + 20, 30, "traffic after")
        finally:
            traffic.stop.set()
            client.join(60)
        recent = [status for status, _, _ in traffic.answers[-6:]]
        assert server.process.poll() is None, "the server process did not survive"
    statuses = {status for status, _, _ in traffic.answers}
    assert statuses <= {200, 201, 503}, [a for a in traffic.answers if a[0] not in (200, 201, 503)]
    assert 503 in statuses
    for status, kind, body in traffic.answers:
        if status == 503:
            assert kind == "application/problem+json" and "service-unavailable" in body
    assert set(recent) <= {200, 201}
    assert took < 30


def _serves(server: Server, headers: dict[str, str]) -> bool:
    return (
        _status(server.url, "/readyz", {}) == 200
        and _status(server.url, "/v1/events/pg-1", headers) == 200
    )
