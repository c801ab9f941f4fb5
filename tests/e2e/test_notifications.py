"""Webhooks end to end: real server and worker processes, real receiver processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.api import key_body
from tests.support.envelopes import event, london_today, nomis
from tests.support.receiver import Receiver, receiving
from tests.support.server import ADMIN, free_port, serve, worker

pytestmark = pytest.mark.e2e

FAST = {
    "JOINUP_ADMIN_KEY": ADMIN,
    "JOINUP_WEBHOOK_ALLOW_INSECURE": "1",
    "JOINUP_WORKER_POLL_SECONDS": "0.1",
    # Retries after about 0.1 s, 0.3 s, 1.2 s ...; a claim lapses 7 s after its worker died.
    "JOINUP_WEBHOOK_RETRY_SCALE": "0.01",
    "JOINUP_WEBHOOK_TIMEOUT_SECONDS": "1",
}
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def _key(url: str, org: str, role: str, scope: dict[str, Any] | None = None) -> dict[str, str]:
    body: dict[str, Any] = key_body(org, role)
    if scope:
        body["scope"] = scope
    made = httpx.post(f"{url}/v1/keys", json=body, headers=ADMIN_HEADERS)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['secret']}"}


def _subscribe(url: str, key: dict[str, str], target: str, **body: Any) -> dict[str, Any]:
    made = httpx.post(f"{url}/v1/subscriptions", json={"url": target, **body}, headers=key)
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


def _release(n: int, days_ago: int = 0, prison: str = "MDI") -> list[dict[str, Any]]:
    person = {"nomis": nomis(n)}
    released = london_today() - timedelta(days=days_ago)
    return [
        event(
            "prison.treatment.started",
            f"t-{n}",
            person=person,
            occurred_on=str(released - timedelta(days=30)),
        ),
        event("prison.released", f"r-{n}", person=person, occurred_on=str(released), prison=prison),
    ]


def _post(url: str, key: dict[str, str], events: list[dict[str, Any]]) -> None:
    answer = httpx.post(f"{url}/v1/events/batch", json={"events": events}, headers=key, timeout=30)
    assert answer.status_code == 200 and answer.json()["accepted"] == len(events), answer.text


def _feed(url: str, key: dict[str, str]) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/v1/changes", params={"limit": 1000}, headers=key)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _metrics(url: str) -> dict[str, float]:
    lines = httpx.get(f"{url}/metrics", headers=ADMIN_HEADERS).text.splitlines()
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in lines if line.startswith("joinup_"))
    }


def _ids(requests: list[dict[str, Any]]) -> list[int]:
    return [int(r["headers"]["webhook-id"]) for r in requests]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with receiving(tmp_path) as made:
        yield made


def test_a_release_with_no_ost_reaches_the_receiver_signed(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    with serve(database_url, tmp_path / "server.log", env=FAST) as server:
        coordinator = _key(server.url, "COORD-NW", "coordinator")
        sub = _subscribe(server.url, coordinator, f"{receiver.url}/hook")
        _post(server.url, _key(server.url, "HMP-MDI-HC", "submitter"), _release(1))
        got = receiver.wait_for(lambda seen: len(seen) >= 5)
        shown = httpx.get(
            f"{server.url}/v1/subscriptions/{sub['subscription_id']}", headers=coordinator
        ).json()
    hook = Webhook(sub["secret"])
    changes = [hook.verify(r["body"], r["headers"]) for r in got]
    assert [(c["type"], (c.get("flag") or {}).get("code")) for c in changes][:2] == [
        ("record.created", None),
        ("record.flag_raised", "no_ost"),
    ]
    assert [c["change_id"] for c in changes] == [r["headers"]["webhook-id"] for r in got]
    assert all(c["identifiers"] == {"nomis": nomis(1)} for c in changes)
    assert shown["status"] == "active" and shown["last_delivery"]["delivered"] is True
    tampered = dict(got[0]["headers"], **{"webhook-id": got[1]["headers"]["webhook-id"]})
    with pytest.raises(Exception, match="signature"):
        hook.verify(got[0]["body"], tampered)


def test_a_failing_receiver_gets_every_change_in_order_once_it_recovers(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.answer(500)
    with serve(database_url, tmp_path / "server.log", env=FAST) as server:
        coordinator = _key(server.url, "COORD-NW", "coordinator")
        sub = _subscribe(server.url, coordinator, f"{receiver.url}/hook")
        submitter = _key(server.url, "HMP-MDI-HC", "submitter")
        _post(server.url, submitter, _release(1) + _release(2))
        later = [
            event(
                "naloxone.issued",
                "n-1",
                person={"nomis": nomis(1)},
                occurred_on=str(london_today()),
            )
        ]
        _post(server.url, submitter, later)
        feed = _feed(server.url, coordinator)
        firsts = {
            min(int(c["change_id"]) for c in feed if c["person_id"] == p)
            for p in {c["person_id"] for c in feed}
        }
        # Each person's first change is tried again and again, the later ones wait behind it.
        receiver.wait_for(lambda seen: len(seen) >= 6)
        assert set(_ids(receiver.requests())) <= firsts
        log = httpx.get(
            f"{server.url}/v1/subscriptions/{sub['subscription_id']}/deliveries",
            headers=coordinator,
        ).json()
        assert log and all(a["status_code"] == 500 for a in log)
        metrics = _metrics(server.url)
        assert metrics['joinup_webhook_deliveries_total{outcome="failed"}'] >= 6
        assert metrics["joinup_webhook_queue_depth"] == len(feed)
        assert metrics["joinup_webhook_oldest_undelivered_age_seconds"] > 0
        receiver.answer(200)
        expected = [int(c["change_id"]) for c in feed]
        receiver.wait_for(lambda seen: len(receiver.acknowledged()) >= len(expected))
    _every_change_once_in_order(receiver, expected)


def _every_change_once_in_order(receiver: Receiver, expected: list[int]) -> None:
    """Each change acknowledged once, under its own id and with one body on every attempt,
    and each person's changes acknowledged in order."""
    assert sorted(_ids(receiver.acknowledged())) == expected
    bodies: dict[str, set[str]] = {}
    for r in receiver.requests():
        bodies.setdefault(r["headers"]["webhook-id"], set()).add(r["body"])
        assert json.loads(r["body"])["change_id"] == r["headers"]["webhook-id"]
    assert all(len(b) == 1 for b in bodies.values())
    for person in (nomis(1), nomis(2)):
        theirs = [
            r
            for r in receiver.acknowledged()
            if json.loads(r["body"])["identifiers"]["nomis"] == person
        ]
        assert _ids(theirs) == sorted(_ids(theirs))


def test_a_receiver_that_is_down_gets_every_change_in_order_once_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    # Retries after about 0.01 s, 0.03 s, 0.12 s, 0.6 s, 1.8 s, 3.6 s, 7.2 s ...
    env = {**FAST, "JOINUP_WEBHOOK_RETRY_SCALE": "0.001"}
    port = free_port()
    with serve(database_url, tmp_path / "server.log", env=env) as server:
        coordinator = _key(server.url, "COORD-NW", "coordinator")
        submitter = _key(server.url, "HMP-MDI-HC", "submitter")
        with receiving(tmp_path, port) as before:
            before.answer(500)
            sub = _subscribe(server.url, coordinator, f"{before.url}/hook")
            _post(server.url, submitter, _release(1) + _release(2))
            # Each person's first change is refused, more than once, under its own id.
            before.wait_for(lambda seen: len(seen) >= 4)
        # The receiver has stopped: its port refuses connections, and changes keep coming.
        naloxone = event(
            "naloxone.issued", "n-1", person={"nomis": nomis(1)}, occurred_on=str(london_today())
        )
        _post(server.url, submitter, [naloxone])
        expected = [int(c["change_id"]) for c in _feed(server.url, coordinator)]
        log = f"{server.url}/v1/subscriptions/{sub['subscription_id']}/deliveries"

        def attempts() -> list[dict[str, Any]]:
            answer: list[dict[str, Any]] = httpx.get(log, headers=coordinator).json()
            return answer

        deadline = time.monotonic() + 60
        while not any(a["status_code"] is None for a in attempts()):
            assert time.monotonic() < deadline, "no attempt found the receiver down"
            time.sleep(0.1)
        before.answer(200)  # what the receiver started again on the same port answers
        with receiving(tmp_path, port) as after:
            after.wait_for(lambda seen: len(after.acknowledged()) >= len(expected))
        tried = attempts()
    _every_change_once_in_order(after, expected)
    refused = {int(r["headers"]["webhook-id"]) for r in after.requests() if r["status"] == 500}
    down = [a for a in tried if a["status_code"] is None]
    assert down and all("ConnectError" in a["error"] for a in down)
    # The changes tried while it was down are those refused before, sent again under the same
    # id, their attempts numbered on from the 500s to the acknowledgement.
    assert {int(a["change_id"]) for a in down} <= refused
    for change_id in refused:
        theirs = sorted((a for a in tried if int(a["change_id"]) == change_id), key=_number)
        assert [a["attempt"] for a in theirs] == list(range(1, len(theirs) + 1))
        assert theirs[0]["status_code"] == 500 and theirs[-1]["status_code"] == 200


def _number(attempt: dict[str, Any]) -> int:
    number: int = attempt["attempt"]
    return number


def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_one_id_per_change(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    env = {**FAST, "JOINUP_INLINE_WORKER": "0"}
    receiver.answer(200, 0.2)
    with serve(database_url, tmp_path / "server.log", env=env) as server:
        coordinator = _key(server.url, "COORD-NW", "coordinator")
        _subscribe(server.url, coordinator, f"{receiver.url}/hook")
        submitter = _key(server.url, "HMP-MDI-HC", "submitter")
        _post(server.url, submitter, [e for n in range(1, 5) for e in _release(n)])
        expected = [int(c["change_id"]) for c in _feed(server.url, coordinator)]
        with worker(database_url, tmp_path / "worker-1.log", env) as first:
            receiver.wait_for(lambda seen: len(seen) >= 3)
            os.killpg(first.pid, signal.SIGKILL)
        assert len(receiver.acknowledged()) < len(expected)
        with worker(database_url, tmp_path / "worker-2.log", env):
            receiver.wait_for(
                lambda seen: {int(r["headers"]["webhook-id"]) for r in seen} >= set(expected)
            )
    for r in receiver.requests():
        assert json.loads(r["body"])["change_id"] == r["headers"]["webhook-id"]
    assert sorted(set(_ids(receiver.requests()))) == expected


def test_two_api_processes_and_two_workers_deliver_each_change_once(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several machines share PostgreSQL; SQLite is for one")
    with (
        serve(database_url, tmp_path / "server.log", env=FAST, workers=2) as server,
        worker(database_url, tmp_path / "worker-1.log", FAST),
        worker(database_url, tmp_path / "worker-2.log", FAST),
    ):
        coordinator = _key(server.url, "COORD-NW", "coordinator")
        _subscribe(server.url, coordinator, f"{receiver.url}/a")
        _subscribe(server.url, coordinator, f"{receiver.url}/b")
        submitter = _key(server.url, "HMP-MDI-HC", "submitter")
        for n in range(1, 11):
            _post(server.url, submitter, _release(n))
        expected = [int(c["change_id"]) for c in _feed(server.url, coordinator)]
        receiver.wait_for(lambda seen: len(seen) >= 2 * len(expected))
    for path in ("/a", "/b"):
        assert sorted(_ids(receiver.acknowledged(path))) == expected


def test_a_window_closing_with_no_event_is_sent_when_the_clock_moves_on(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    with serve(database_url, tmp_path / "today.log", env=FAST) as server:
        coordinator = _key(server.url, "COORD-NW", "coordinator")
        _subscribe(server.url, coordinator, f"{receiver.url}/hook")
        _post(server.url, _key(server.url, "HMP-MDI-HC", "submitter"), _release(1, days_ago=21))
        created = receiver.wait_for(lambda seen: len(seen) >= 5)
    assert all(json.loads(r["body"])["stage"] == "awaiting_pickup" for r in created)
    tomorrow = {**FAST, "JOINUP_CLOCK_OFFSET_DAYS": "1"}
    with serve(database_url, tmp_path / "tomorrow.log", env=tomorrow):
        got = receiver.wait_for(lambda seen: len(seen) >= 7)
    closed = [json.loads(r["body"]) for r in got[5:]]
    assert [c["type"] for c in closed] == ["record.stage_changed", "record.flag_raised"]
    assert closed[0]["previous_stage"] == "awaiting_pickup"
    assert closed[0]["stage"] == "not_picked_up"
    assert closed[1]["flag"]["code"] == "not_picked_up"
    assert closed[1]["effective_on"] == str(london_today() + timedelta(days=1))


def test_a_key_scoped_to_mdi_never_gets_another_prisons_change(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    with serve(database_url, tmp_path / "server.log", env=FAST) as server:
        scoped = _key(server.url, "PROBATION-MDI", "probation", {"prisons": ["MDI"]})
        everyone = _key(server.url, "COORD-NW", "coordinator")
        _subscribe(server.url, scoped, f"{receiver.url}/mdi")
        _subscribe(server.url, everyone, f"{receiver.url}/all")
        submitter = _key(server.url, "HMP-MDI-HC", "submitter")
        _post(server.url, submitter, _release(1, prison="LPI"))
        _post(server.url, submitter, _release(2, prison="MDI"))
        _post(server.url, submitter, _release(3, prison="LPI"))
        expected = _feed(server.url, everyone)
        receiver.wait_for(lambda seen: len(receiver.acknowledged("/all")) >= len(expected))
        receiver.wait_for(lambda seen: len(receiver.acknowledged("/mdi")) >= 5)
    prisons = {json.loads(r["body"])["prison"] for r in receiver.requests() if r["path"] == "/mdi"}
    assert prisons == {"MDI"}
    mdi = [int(c["change_id"]) for c in expected if c["prison"] == "MDI"]
    assert sorted(_ids(receiver.acknowledged("/mdi"))) == mdi
