"""Delivering webhooks (CONTRACT §7): each attempt on its own, audited as a read of the people
it names, and the operator's view of the queue. A real receiver process answers; the worker's
rounds run in the test, one at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.db.engine import Database
from app.main import delivering
from app.services.notifications import delivery, webhooks
from tests.support.api import Api, running, runtime_of
from tests.support.envelopes import event, london_today, nomis
from tests.support.receiver import Receiver, receiving

TODAY = london_today()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with receiving(tmp_path) as made:
        yield made


def _release(n: int, prison: str = "MDI") -> list[dict[str, Any]]:
    person = {"nomis": nomis(n)}
    started = str(TODAY - timedelta(days=30))
    return [
        event("prison.treatment.started", f"t-{n}", person=person, occurred_on=started),
        event("prison.released", f"r-{n}", person=person, occurred_on=str(TODAY), prison=prison),
    ]


def _subscribe(api: Api, url: str, headers: dict[str, str]) -> str:
    made = api.client.post("/v1/subscriptions", json={"url": url}, headers=headers)
    assert made.status_code == 201, made.text
    subscription_id: str = made.json()["subscription_id"]
    return subscription_id


def _attempts(api: Api, subscription_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    path = f"/v1/subscriptions/{subscription_id}/deliveries"
    answer = api.client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    attempts: list[dict[str, Any]] = answer.json()
    return attempts


def _change_ids(api: Api) -> list[str]:
    answer = api.client.get("/v1/changes", headers=api.coordinator)
    return [c["change_id"] for c in answer.json()["items"]]


def _rounds(api: Api, database_url: str, done: Callable[[], bool]) -> list[int]:
    """The worker's rounds (match, then one claim sent), until `done`: what each round sent."""
    how = delivering(runtime_of(api).settings)

    async def work() -> list[int]:
        db = Database(database_url)
        sent: list[int] = []
        try:
            async with webhooks.client() as http:
                while not done() and len(sent) < 50:
                    await delivery.match(db)
                    sent.append(await delivery.deliver(db, http, how))
        finally:
            await db.dispose()
        return sent

    return asyncio.run(work())


def test_a_secret_this_machine_cannot_open_fails_only_its_own_delivery(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """Two machines on one database, each with its own key file: a subscription made through
    the other one fails here, on its own, and the rest of the claim is sent and settled once."""
    here = {"webhook_allow_insecure": True, "secret_key_file": str(tmp_path / "here.key")}
    there = {**here, "secret_key_file": str(tmp_path / "there.key")}
    with running(database_url, **here) as api:
        mine = _subscribe(api, f"{receiver.url}/mine", api.coordinator)
        with running(database_url, **there) as elsewhere:
            theirs = _subscribe(elsewhere, f"{receiver.url}/theirs", api.coordinator)
        assert api.batch(_release(1)).status_code == 200
        expected = _change_ids(api)
        sent = _rounds(api, database_url, lambda: len(receiver.acknowledged("/mine")) >= 5)
        # The first claim held both subscriptions' first change (a person's later changes wait).
        assert sent[0] == 2 and sum(sent) == 6
        got = [r["headers"]["webhook-id"] for r in receiver.requests()]
        assert got == expected and {r["path"] for r in receiver.requests()} == {"/mine"}
        failed = _attempts(api, theirs, api.coordinator)
        assert [(a["change_id"], a["attempt"], a["status_code"]) for a in failed] == [
            (expected[0], 1, None)
        ]
        assert "secret cannot be decrypted" in failed[0]["error"]
        assert "JOINUP_SECRET_KEY" in failed[0]["error"]
        shown = api.client.get(f"/v1/subscriptions/{theirs}", headers=api.coordinator).json()
        assert shown["status"] == "failing"
        delivered = _attempts(api, mine, api.coordinator)
        assert sorted(a["change_id"] for a in delivered) == expected
        assert all(a["status_code"] == 200 and a["attempt"] == 1 for a in delivered)
