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
from tests.support.api import Api, bearer, key_body, running, runtime_of
from tests.support.envelopes import assert_problem, event, london_today, nomis
from tests.support.receiver import Receiver, receiving
from tests.support.server import free_port


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with receiving(tmp_path) as made:
        yield made


def _release(n: int, prison: str = "MDI") -> list[dict[str, Any]]:
    today = london_today()
    person = {"nomis": nomis(n)}
    started = str(today - timedelta(days=30))
    return [
        event("prison.treatment.started", f"t-{n}", person=person, occurred_on=started),
        event("prison.released", f"r-{n}", person=person, occurred_on=str(today), prison=prison),
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


def _rounds(
    api: Api, database_url: str, done: Callable[[], bool], most: int = 50
) -> list[tuple[bool, int]]:
    """The worker's rounds until `done` (at most `most`): whether each matched new changes,
    and how many deliveries it sent."""
    how = delivering(runtime_of(api).settings)

    async def work() -> list[tuple[bool, int]]:
        db = Database(database_url)
        rounds: list[tuple[bool, int]] = []
        try:
            async with webhooks.client() as http:
                while not done() and len(rounds) < most:
                    matched = await delivery.match(db)
                    rounds.append((matched, await delivery.deliver(db, http, how)))
        finally:
            await db.dispose()
        return rounds

    return asyncio.run(work())


def _sent(api: Api, database_url: str, done: Callable[[], bool], most: int = 50) -> list[int]:
    return [sent for _, sent in _rounds(api, database_url, done, most)]


def _key(api: Api, org: str, role: str, **more: Any) -> tuple[str, dict[str, str]]:
    made = api.client.post("/v1/keys", json=key_body(org, role, **more), headers=api.admin)
    assert made.status_code == 201, made.text
    return made.json()["key_id"], bearer(made.json()["secret"])


def _trail(api: Api, **filters: str) -> list[dict[str, Any]]:
    answer = api.client.get("/v1/audit", params={"limit": 500, **filters}, headers=api.admin)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _metrics(api: Api) -> dict[str, float]:
    lines = api.client.get("/metrics", headers=api.admin).text.splitlines()
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in lines if line.startswith("joinup_"))
    }


def test_a_secret_this_machine_cannot_open_fails_only_its_own_delivery(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """Two machines on one database, each with its own key file: a subscription made through
    the other one fails here, on its own, and the rest of the claim is sent and settled once."""
    # Retries far off (the first after about 1,000 s): each round's claim is known.
    here = {
        "webhook_allow_insecure": True,
        "webhook_retry_scale": 100.0,
        "secret_key_file": str(tmp_path / "here.key"),
    }
    there = {**here, "secret_key_file": str(tmp_path / "there.key")}
    with running(database_url, **here) as api:
        mine = _subscribe(api, f"{receiver.url}/mine", api.coordinator)
        with running(database_url, **there) as elsewhere:
            theirs = _subscribe(elsewhere, f"{receiver.url}/theirs", api.coordinator)
        assert api.batch(_release(1)).status_code == 200
        expected = _change_ids(api)
        sent = _sent(api, database_url, lambda: len(receiver.acknowledged("/mine")) >= 5)
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


def test_each_delivery_is_audited_as_a_read_of_the_person_it_names(
    database_url: str, receiver: Receiver
) -> None:
    with running(database_url, webhook_allow_insecure=True) as api:
        key_id, coordinator = _key(api, "COORD-NW", "coordinator")
        subscription_id = _subscribe(api, f"{receiver.url}/hook", coordinator)
        api.batch(_release(1) + _release(2))
        feed = api.client.get("/v1/changes", headers=api.coordinator).json()["items"]
        _sent(api, database_url, lambda: len(receiver.acknowledged()) >= len(feed))
        person_of = {c["change_id"]: c["person_id"] for c in feed}
        rows = _trail(api, what="DELIVER_CHANGES")
        assert sorted(r["details"]["change_ids"][0] for r in rows) == sorted(person_of)
        for row in rows:
            [change_id] = row["details"]["change_ids"]
            assert row["details"]["person_ids"] == [person_of[change_id]]
            assert (row["who"], row["subjectId"]) == (key_id, subscription_id)
            assert (row["details"]["org"], row["details"]["outcome"]) == ("COORD-NW", "ok")
        first = feed[0]["person_id"]
        theirs = [r for r in _trail(api, person_id=first) if r["what"] == "DELIVER_CHANGES"]
        assert sorted(r["details"]["change_ids"][0] for r in theirs) == sorted(
            c for c, person in person_of.items() if person == first
        )


def test_the_queue_counts_changes_not_yet_matched_and_the_totals_never_go_down(
    database_url: str, receiver: Receiver
) -> None:
    with running(database_url, webhook_allow_insecure=True) as api:
        subscription_id = _subscribe(api, f"{receiver.url}/hook", api.coordinator)
        api.batch(_release(1))
        # No worker has run: the five changes are owed, though not yet matched.
        waiting = _metrics(api)
        assert waiting["joinup_webhook_queue_depth"] == 5
        assert waiting["joinup_webhook_oldest_undelivered_age_seconds"] > 0
        _sent(api, database_url, lambda: len(receiver.acknowledged()) >= 5)
        done = _metrics(api)
        assert done["joinup_webhook_queue_depth"] == 0
        assert done["joinup_webhook_oldest_undelivered_age_seconds"] == 0
        assert done['joinup_webhook_deliveries_total{outcome="delivered"}'] == 5
        path = f"/v1/subscriptions/{subscription_id}"
        assert api.client.delete(path, headers=api.coordinator).status_code == 204
        assert _metrics(api)['joinup_webhook_deliveries_total{outcome="delivered"}'] == 5


def test_enabling_a_subscription_that_is_not_disabled_leaves_its_retries_alone(
    database_url: str,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: every attempt fails
    settings: dict[str, Any] = {"webhook_allow_insecure": True, "webhook_retry_scale": 100.0}
    with running(database_url, **settings) as api:
        subscription_id = _subscribe(api, closed, api.coordinator)
        path = f"/v1/subscriptions/{subscription_id}"
        active = api.client.post(f"{path}/enable", headers=api.coordinator)
        assert active.status_code == 200 and active.json()["status"] == "active"
        api.batch(_release(1))
        _sent(api, database_url, lambda: bool(_attempts(api, subscription_id, api.coordinator)))
        failing = api.client.get(path, headers=api.coordinator).json()
        assert failing["status"] == "failing"
        answered = api.client.post(f"{path}/enable", headers=api.coordinator)
        assert answered.status_code == 200 and answered.json() == failing
        # The retry is still about 1,000 s off: a round sends nothing.
        assert _sent(api, database_url, lambda: False, most=1) == [0]
        attempts = _attempts(api, subscription_id, api.coordinator)
        assert [a["attempt"] for a in attempts] == [1]
        assert _trail(api, what="SUBSCRIPTION_ENABLED") == []


def test_a_subscription_whose_key_is_revoked_delivers_nothing_more(
    database_url: str, receiver: Receiver
) -> None:
    with running(database_url, webhook_allow_insecure=True) as api:
        key_id, coordinator = _key(api, "COORD-NW", "coordinator")
        subscription_id = _subscribe(api, f"{receiver.url}/hook", coordinator)
        api.batch(_release(1))
        # One round: the person's first change is sent, the other four wait behind it.
        assert _sent(api, database_url, lambda: False, most=1) == [1]
        revoked = api.client.delete(f"/v1/keys/{key_id}", headers=api.admin)
        assert revoked.status_code == 204
        api.batch(_release(2))
        # Neither the queued changes nor the new ones are matched or sent.
        assert _rounds(api, database_url, lambda: False, most=3) == [(False, 0)] * 3
        assert len(receiver.requests()) == 1
        path = f"/v1/subscriptions/{subscription_id}"
        shown = api.client.get(path, headers=api.coordinator).json()
        assert (shown["status"], shown["disabled_reason"]) == ("disabled", "key_revoked")
        refused = api.client.post(f"{path}/enable", headers=api.coordinator)
        assert "revoked" in assert_problem(refused, 409, "conflict")["detail"]
        metrics = _metrics(api)
        assert metrics["joinup_webhook_subscriptions_disabled"] == 1
        assert metrics["joinup_webhook_queue_depth"] == 0
