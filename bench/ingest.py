"""Posting realistic histories to joinup in 1,000-event batches, from several client threads."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from app.demo import year as demo_data
from app.domain.vocabulary import EventType
from app.services.loading import Posting


def batches(people: Iterable[list[Posting]], size: int = 1000) -> list[tuple[str, list[Any]]]:
    """Each organisation's events in posting order, cut into batches of `size`, the
    organisations taking turns: a backfill has many providers posting at once. The largest
    organisations' batches come last, after the others have run out."""
    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for person in people:
        for posting in person:
            by_org[posting.org].append(posting.event)
    queues = [
        [(org, events[i : i + size]) for i in range(0, len(events), size)]
        for org, events in by_org.items()
    ]
    return [
        queue[turn]
        for turn in range(max(map(len, queues), default=0))
        for queue in queues
        if turn < len(queue)
    ]


def people(count: int, first: int = 0) -> list[list[Posting]]:
    return list(demo_data.people(count / demo_data.people_count(), seed=first + 1, first=first))


@dataclass
class Posted:
    events: int
    seconds: float
    failures: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def post_batches(
    url: str, keys: dict[str, str], work: list[tuple[str, list[Any]]], clients: int = 4
) -> Posted:
    """Post every batch, `clients` at a time; events accepted or duplicate per second."""
    pending: queue.Queue[tuple[str, list[Any]]] = queue.Queue()
    for item in work:
        pending.put(item)
    done = [0, 0]
    lock = threading.Lock()

    def run() -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            while True:
                try:
                    org, events = pending.get_nowait()
                except queue.Empty:
                    return
                answer = client.post(
                    "/v1/events/batch",
                    json={"events": events},
                    headers={"Authorization": f"Bearer {keys[org]}"},
                )
                ok = answer.status_code == 200
                if not ok:
                    print("batch failed:", answer.status_code, answer.text[:300])
                with lock:
                    done[0] += len(events) if ok else 0
                    done[1] += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Posted(done[0], time.perf_counter() - started, done[1])


def make_keys(url: str, admin: str, orgs: Iterable[str], role: str = "submitter") -> dict[str, str]:
    """A key of `role` for each organisation; a submitter's may post every event type."""
    body: dict[str, Any] = {"roles": [role]}
    if role == "submitter":
        body["event_types"] = [str(kind) for kind in EventType]
    made = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for org in sorted(set(orgs)):
            answer = client.post(
                "/v1/keys",
                json={**body, "org": org},
                headers={"Authorization": f"Bearer {admin}"},
            )
            answer.raise_for_status()
            made[org] = answer.json()["secret"]
    return made
