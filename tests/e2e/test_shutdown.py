"""SIGTERM during a batch post: the server stops taking connections, finishes the batch, exits.

The batch body is sent in two halves, and the second half only once the server has shut its
listening socket, so the request is certainly in flight while the server shuts down.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from app.db.engine import sync_url
from tests.support.envelopes import event, nomis
from tests.support.server import ADMIN, HalfSent, new_key, serve

EVENTS = 800


def _body() -> bytes:
    events = [
        event(event_id=f"drain-{n}", person={"nomis": nomis(n)}) for n in range(1, EVENTS + 1)
    ]
    return json.dumps({"events": events}).encode()


def _refuses_connections(url: str, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
        except httpx.ConnectError:
            return True
        except httpx.RemoteProtocolError:
            # Accepted just before the socket shut, then closed unanswered: keep asking.
            pass
        time.sleep(0.05)
    return False


def test_sigterm_lets_an_in_flight_batch_finish(database_url: str, tmp_path: Path) -> None:
    body = HalfSent(_body(), wait=15)
    answers: list[httpx.Response] = []
    with serve(database_url, tmp_path / "server.log", env={"JOINUP_ADMIN_KEY": ADMIN}) as server:
        headers = {**new_key(server.url, "HMP-MDI-HC"), "Content-Type": "application/json"}

        def post() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answers.append(client.post("/v1/events/batch", content=body, headers=headers))

        poster = threading.Thread(target=post)
        poster.start()
        assert body.half_sent.wait(15)
        time.sleep(0.3)  # let the server read the request line and headers
        os.killpg(server.process.pid, signal.SIGTERM)
        refused = _refuses_connections(server.url)
        body.resume()
        poster.join(60)
        exit_code = server.process.wait(timeout=40)
        log = server.output()
    assert refused, log
    assert exit_code in (0, -signal.SIGTERM), log
    assert "Waiting for connections to close" in log
    (answer,) = answers
    assert answer.status_code == 200, answer.text
    assert (answer.json()["accepted"], answer.json()["rejected"]) == (EVENTS, 0)
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM event WHERE event_id LIKE 'drain-%'"))
        assert count.scalar_one() == EVENTS
    engine.dispose()
