"""`joinup hmpps consume` as a real process, against moto's SQS server on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, text

from app.db.engine import sync_url
from tests.support import hmpps as published
from tests.support.api import running
from tests.support.hmpps_servers import Hmpps, hmpps_servers
from tests.support.server import ROOT

pytestmark = pytest.mark.e2e

NOMS, CRN = "A1234BC", "X123456"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
}


@pytest.fixture(scope="module")
def sqs_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def sqs(sqs_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in AWS.items():
        monkeypatch.setenv(name, value)
    return boto3.client("sqs", endpoint_url=sqs_url)


@pytest.fixture
def queues(sqs: Any, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A queue whose poison messages go to a dead-letter queue after two receives."""
    name = f"q{abs(hash(request.node.name)) % 10**8}-{time.monotonic_ns()}"
    dead = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
    attributes = {"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "1"}
    queue = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return queue, dead


@pytest.fixture(scope="module")
def hmpps() -> Iterator[Hmpps]:
    with hmpps_servers() as state:
        yield state


def start(database_url: str, sqs_url: str, queue: str, hmpps: Hmpps, log: Path) -> Any:
    env = {
        **os.environ,
        **AWS,
        "AWS_ENDPOINT_URL": sqs_url,
        "JOINUP_DATABASE_URL": database_url,
        "JOINUP_SNS_VERIFY": "0",
        "JOINUP_CVL_URL": hmpps.cvl_url,
        "JOINUP_HMPPS_AUTH_URL": hmpps.auth_url,
        "JOINUP_HMPPS_CLIENT_ID": "joinup-client",
        "JOINUP_HMPPS_CLIENT_SECRET": "joinup-client-secret",
    }
    command = [sys.executable, "-m", "app.cli", "hmpps", "consume", "--queue-url", queue]
    with log.open("wb") as sink:
        return subprocess.Popen(
            [*command, "--wait-seconds", "1"], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )


def stop(process: Any, log: Path) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text()
    return log.read_text()


def rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def events(database_url: str) -> list[tuple[str, str]]:
    return [
        (i, kind) for i, kind in rows(database_url, "SELECT event_id, type FROM event ORDER BY seq")
    ]


def waiting(sqs: Any, queue: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
    return sum(int(found[name]) for name in names)


def until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_messages_are_stored_once_and_poison_goes_to_the_dead_letter_queue(
    database_url: str,
    sqs_url: str,
    sqs: Any,
    queues: tuple[str, str],
    hmpps: Hmpps,
    tmp_path: Path,
) -> None:
    queue, dead = queues
    release = published.sns(published.released(NOMS, "2026-03-02T10:15:00Z"))
    unused = published.sns({**published.released(NOMS, "2026-03-02T10:15:00Z"), "eventType": "x.y"})
    for body in (release, release, unused, "not json"):
        sqs.send_message(
            QueueUrl=queue, MessageBody=body if isinstance(body, str) else json.dumps(body)
        )
    process = start(database_url, sqs_url, queue, hmpps, tmp_path / "consumer.log")
    try:
        until(lambda: waiting(sqs, queue) == 0 and waiting(sqs, dead) == 1)
    finally:
        output = stop(process, tmp_path / "consumer.log")
    stored = events(database_url)
    assert [kind for _, kind in stored] == ["prison.released"], output
    assert "accepted 1, duplicate 1, ignored 1, pending 0, left 2" in output
    (poison,) = sqs.receive_message(QueueUrl=dead)["Messages"]
    assert poison["Body"] == "not json"


def test_sigterm_mid_batch_finishes_the_message_in_hand_and_hands_back_the_rest(
    database_url: str,
    sqs_url: str,
    sqs: Any,
    queues: tuple[str, str],
    hmpps: Hmpps,
    tmp_path: Path,
) -> None:
    queue, _ = queues
    hmpps.licences.clear()
    for number in range(3):
        licence_id = f"300{number}"
        hmpps.licences[licence_id] = published.cvl_licence(licence_id, CRN, NOMS)
        envelope = published.licence(
            licence_id, f"2026-02-2{number}T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
        )
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(published.sns(envelope)))
    hmpps.hold = hold = threading.Event()
    hmpps.holding.clear()
    log = tmp_path / "consumer.log"
    process = start(database_url, sqs_url, queue, hmpps, log)
    try:
        assert hmpps.holding.wait(30), log.read_text()
        process.send_signal(signal.SIGTERM)
        until(lambda: "stopping after the message in hand" in log.read_text())
    finally:
        hmpps.hold = None
        hold.set()
    assert process.wait(timeout=30) == 0, log.read_text()
    output = log.read_text()
    assert "accepted 1," in output and "handed back 2" in output, output
    assert [kind for _, kind in events(database_url)] == ["licence.activated"]
    # The two handed back are on the queue at once, not after their visibility timeout.
    left = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(left) == 2


def test_a_licence_while_cvl_is_down_is_kept_pending_and_leaves_the_queue(
    database_url: str,
    sqs_url: str,
    sqs: Any,
    queues: tuple[str, str],
    hmpps: Hmpps,
    tmp_path: Path,
) -> None:
    queue, dead = queues
    hmpps.licences["3101"] = published.cvl_licence("3101", CRN, NOMS)
    envelope = published.licence(
        "3101", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
    )
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(published.sns(envelope)))
    hmpps.down = True
    log = tmp_path / "consumer.log"
    process = start(database_url, sqs_url, queue, hmpps, log)
    try:
        until(lambda: waiting(sqs, queue) == 0)
    finally:
        output = stop(process, log)
        hmpps.down = False
    assert "accepted 0, duplicate 0, ignored 0, pending 1, left 0" in output, output
    assert waiting(sqs, dead) == 0
    assert events(database_url) == []
    kept = rows(database_url, "SELECT org, key_id, event_type, attempts FROM hmpps_pending")
    assert kept == [("HMPPS", None, "create-and-vary-a-licence.licence.activated", 1)]
    # The consumer's counts reach /metrics, served by another process.
    with running(database_url) as api:
        metrics = api.client.get("/metrics", headers=api.admin).text
    activated = 'type="create-and-vary-a-licence.licence.activated"'
    assert f'joinup_hmpps_domain_events_total{{outcome="pending",{activated}}} 1.0' in metrics
