"""scripts/serve brings up a real server that answers over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import serve

ADMIN = "e2e-admin-secret-0123456789"


def test_serve_answers_and_keeps_events(database_url: str, tmp_path: Path) -> None:
    env = {"JOINUP_ADMIN_KEY": ADMIN}
    with (
        serve(database_url, tmp_path / "server.log", env=env) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        admin = {"Authorization": f"Bearer {ADMIN}"}
        key = client.post(
            "/v1/keys", json={"org": "HMP-MDI-HC", "roles": ["submitter"]}, headers=admin
        )
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
    body = json.dumps({"events": [_event("slow-1")]}).encode()
    half_sent, resume = threading.Event(), threading.Event()
    answers: list[httpx.Response] = []

    def halves() -> Iterator[bytes]:
        yield body[: len(body) // 2]
        half_sent.set()
        resume.wait(30)
        yield body[len(body) // 2 :]

    env = {"JOINUP_ADMIN_KEY": ADMIN, "JOINUP_BATCH_CONCURRENCY": "1"}
    with serve(database_url, tmp_path / "server.log", env=env) as server:
        headers = {**_submitter(server.url), "Content-Type": "application/json"}

        def slow() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answers.append(client.post("/v1/events/batch", content=halves(), headers=headers))

        poster = threading.Thread(target=slow)
        poster.start()
        try:
            assert half_sent.wait(15)
            time.sleep(0.3)  # the server has the first half and waits for the rest
            other = httpx.post(
                f"{server.url}/v1/events/batch",
                json={"events": [_event("quick-1")]},
                headers=headers,
                timeout=10,
            )
        finally:
            resume.set()
            poster.join(60)
    assert other.status_code == 200, other.text
    assert other.json()["accepted"] == 1
    (slow_answer,) = answers
    assert slow_answer.status_code == 200, slow_answer.text
    assert slow_answer.json()["accepted"] == 1


def _event(event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "naloxone.issued",
        "occurred_on": "2026-03-02",
        "person": {"nomis": "A1234BC"},
        "data": {},
    }


def _submitter(url: str) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    made = httpx.post(
        f"{url}/v1/keys", json={"org": "HMP-MDI-HC", "roles": ["submitter"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['secret']}"}
