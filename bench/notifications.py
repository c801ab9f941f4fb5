"""Notifications: how long a post takes to reach a subscribed receiver, and what delivering
costs the posts themselves.

Two runs, each on a fresh database of its own with a fresh joinup (two server processes, each
with its inline worker), so that neither posts into a database the other has grown: the first
with no subscription, the second with one whose receiver, a small HTTP server in this process,
answers 200 at once. Each posts the same work in the same order: single-event posts for a
while, then batches. The outbox's change rows are written in both (they are what the change
feed serves), so the ratios of the second run's rates to the first's isolate what matching and
delivering to a subscription cost. The delay is from the moment a single-event post was
answered to the moment the receiver had its `record.created`.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

from app.cli import migrate
from app.settings import Settings
from bench.infra import ADMIN, free_port, joinup
from bench.ingest import make_keys
from bench.report import Report

# The receiver's arrival time of each person's record.created, by NOMIS number.
_arrived: dict[str, float] = {}
_lock = threading.Lock()


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        if body["type"] == "record.created":
            with _lock:
                _arrived.setdefault(body["identifiers"].get("nomis", ""), time.time())
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _receiving() -> Iterator[str]:
    # A new receiver knows no arrivals: each run numbers its people alike, and an earlier run's
    # arrival of the same NOMIS number would make a delay negative.
    with _lock:
        _arrived.clear()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.shutdown()


def _nomis(n: int) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"{'BCDEFGH'[n // 240_000 % 7]}{n % 10_000:04d}{letters[n // 10_000 % 24]}A"


def _release(n: int, today: date) -> list[dict[str, Any]]:
    person = {"nomis": _nomis(n)}
    treatment = {"prison": "MDI", "substance_group": "opiate", "on_ost": True}
    release = {"prison": "MDI", "release_type": "conditional_release"}
    return [
        {
            "event_id": f"nt-{n}",
            "type": "prison.treatment.started",
            "person": person,
            "occurred_on": str(today - timedelta(days=30)),
            "data": treatment,
        },
        {
            "event_id": f"nr-{n}",
            "type": "prison.released",
            "person": person,
            "occurred_on": str(today),
            "data": release,
        },
    ]


def _batches(url: str, key: dict[str, str], first: int, people: int) -> float:
    """Post `people` new people as 1,000-event batches from 2 clients; events per second."""
    today = date.today()
    work = [
        range(start, min(start + 500, first + people))
        for start in range(first, first + people, 500)
    ]
    lock, started = threading.Lock(), time.perf_counter()

    def run() -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            while True:
                with lock:
                    if not work:
                        return
                    chunk = work.pop()
                events = [e for n in chunk for e in _release(n, today)]
                client.post(
                    "/v1/events/batch", json={"events": events}, headers=key
                ).raise_for_status()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 2 * people / (time.perf_counter() - started)


def _singles(
    url: str, key: dict[str, str], first: int, seconds: float
) -> tuple[float, dict[str, float]]:
    """One-event posts of new people's releases from 8 clients for `seconds`: posts per second,
    and when each was answered, by NOMIS number."""
    answered: dict[str, float] = {}
    counter, lock = [first], threading.Lock()
    stop = time.monotonic() + seconds
    today = str(date.today())

    def run() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while time.monotonic() < stop:
                with lock:
                    n = counter[0]
                    counter[0] += 1
                nomis = _nomis(n)
                event = {
                    "event_id": f"s-{n}",
                    "type": "prison.released",
                    "person": {"nomis": nomis},
                    "occurred_on": today,
                    "data": {"prison": "MDI", "release_type": "hdc"},
                }
                client.post("/v1/events", json=event, headers=key).raise_for_status()
                answered[nomis] = time.time()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(answered) / seconds, answered


def _key(url: str, org: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_keys(url, ADMIN, [org], role)[org]}"}


def _delays(answered: dict[str, float], wait: float = 60) -> list[float]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and len(_arrived.keys() & answered.keys()) < len(answered):
        time.sleep(0.2)
    return sorted((_arrived[n] - at) * 1000 for n, at in answered.items() if n in _arrived)


@dataclass(frozen=True)
class _Run:
    batch: float
    single: float
    answered: dict[str, float]
    delays: list[float]


def _run(
    database: Callable[[], AbstractContextManager[str]],
    people: int,
    seconds: int,
    *,
    subscribed: bool,
) -> _Run:
    """One run on a fresh database: single-event posts for `seconds`, then `people` new people
    in batches; with a subscription, the delay of each single post's delivery."""
    env = {"JOINUP_WEBHOOK_ALLOW_INSECURE": "1"}
    with database() as url:
        migrate(Settings(database_url=url))
        with joinup(url, workers=2, env=env) as server, _receiving() as hook:
            submitter = _key(server.url, "BENCH-NOTIFY", "submitter")
            if subscribed:
                coordinator = _key(server.url, "BENCH-SUBSCRIBER", "coordinator")
                made = httpx.post(
                    f"{server.url}/v1/subscriptions", json={"url": hook}, headers=coordinator
                )
                made.raise_for_status()
            single, answered = _singles(server.url, submitter, 1_000_000, seconds)
            delays = _delays(answered) if subscribed else []
            batch = _batches(server.url, submitter, 0, people)
    return _Run(batch, single, answered, delays)


def run(
    report: Report,
    label: str,
    database: Callable[[], AbstractContextManager[str]],
    people: int,
    seconds: int,
) -> None:
    plain = _run(database, people, seconds, subscribed=False)
    hooked = _run(database, people, seconds, subscribed=True)
    fair = (
        "each run on a fresh database; the outbox is written in both, so the ratio isolates "
        "matching and delivering to a subscription"
    )
    without = "no subscription"
    report.add(
        f"{label}: batch ingest with a webhook subscription",
        hooked.batch,
        "events/s",
        ratio=(hooked.batch, plain.batch),
        ratio_to=without,
        note=f"without: {plain.batch:,.0f} events/s; {fair}",
    )
    report.add(
        f"{label}: single-event POST with a webhook subscription, 8 clients",
        hooked.single,
        "events/s",
        ratio=(hooked.single, plain.single),
        ratio_to=without,
        note=f"without: {plain.single:,.0f} events/s; {fair}",
    )
    delays = hooked.delays
    if delays:
        p50 = statistics.median(delays)
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        report.add(
            f"{label}: single post to webhook delivery",
            p50,
            "ms",
            p50=p50,
            p99=p99,
            note=f"{len(delays):,} of {len(hooked.answered):,} delivered",
        )
