"""scripts/serve brings up a real server that answers over HTTP."""

from __future__ import annotations

from pathlib import Path

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
