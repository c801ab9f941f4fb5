"""scripts/serve brings up a real server that answers over HTTP."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from tests.support.api import key_body
from tests.support.envelopes import event
from tests.support.server import ADMIN, HalfSent, new_key, serve


def test_serve_answers_and_keeps_events(database_url: str, tmp_path: Path) -> None:
    env = {"JOINUP_ADMIN_KEY": ADMIN}
    with (
        serve(database_url, tmp_path / "server.log", env=env) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        admin = {"Authorization": f"Bearer {ADMIN}"}
        key = client.post("/v1/keys", json=key_body("HMP-MDI-HC", "submitter"), headers=admin)
        assert key.status_code == 201, key.text
        submitter = {"Authorization": f"Bearer {key.json()['secret']}"}
        event = {
            "event_id": "mdi-hc-000123",
            "type": "prison.released",
            "occurred_on": "2026-03-02",
            "person": {"nomis": "A1234BC"},
            "data": {"prison": "MDI", "release_type": "conditional_release"},
        }
        posted = client.post("/v1/events", json=event, headers=submitter)
        assert posted.status_code == 201, posted.text
        read = client.get("/v1/events/mdi-hc-000123", headers=submitter)
        assert read.json()["data"]["prison"] == "MDI"
        assert client.get("/healthz").json() == {"status": "ok"}


def test_first_start_without_keys_prints_one_admin_key(database_url: str, tmp_path: Path) -> None:
    with serve(database_url, tmp_path / "first.log") as server:
        first = server.output()
    with serve(database_url, tmp_path / "second.log") as server:
        second = server.output()
    secret = first.split("secret (shown only now): ")[1].split()[0]
    assert "shown only now" not in second
    with serve(database_url, tmp_path / "third.log") as server:
        answer = httpx.get(f"{server.url}/v1/keys", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    assert [key["roles"] for key in answer.json()] == [["admin"]]


def test_a_batch_whose_body_is_still_arriving_holds_up_no_other(
    database_url: str, tmp_path: Path
) -> None:
    # One batch at a time per process (JOINUP_BATCH_CONCURRENCY=1), but only once its body is in.
    body = HalfSent(json.dumps({"events": [event("naloxone.issued", "slow-1")]}).encode())
    answers: list[httpx.Response] = []
    env = {"JOINUP_ADMIN_KEY": ADMIN, "JOINUP_BATCH_CONCURRENCY": "1"}
    with serve(database_url, tmp_path / "server.log", env=env) as server:
        headers = {**new_key(server.url, "HMP-MDI-HC"), "Content-Type": "application/json"}

        def slow() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answers.append(client.post("/v1/events/batch", content=body, headers=headers))

        poster = threading.Thread(target=slow)
        poster.start()
        try:
            assert body.half_sent.wait(15)
            time.sleep(0.3)  # the server has the first half and waits for the rest
            other = httpx.post(
                f"{server.url}/v1/events/batch",
                json={"events": [event("naloxone.issued", "quick-1")]},
                headers=headers,
                timeout=10,
            )
        finally:
            body.resume()
            poster.join(60)
    assert other.status_code == 200, other.text
    assert other.json()["accepted"] == 1
    (slow_answer,) = answers
    assert slow_answer.status_code == 200, slow_answer.text
    assert slow_answer.json()["accepted"] == 1
