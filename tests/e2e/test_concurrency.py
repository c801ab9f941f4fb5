"""Eight clients post overlapping batches, or the same events one by one, at once to two server
processes: every event is stored exactly once, and the stored records equal a fresh derivation
from the stored events."""

from __future__ import annotations

import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.db.engine import sync_url
from app.demo import year as demo_data
from tests.support.api import key_body
from tests.support.expected import stored_and_fresh
from tests.support.server import ADMIN, serve

CLIENTS = 8


def _batches(scale: float) -> list[tuple[str, list[dict[str, Any]]]]:
    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for person in demo_data.people(scale=scale):
        for posting in person:
            by_org[posting.org].append(posting.event)
    return [
        (org, events[start : start + 25])
        for org, events in sorted(by_org.items())
        for start in range(0, len(events), 25)
    ]


def _post_all(url: str, keys: dict[str, str], batches: list[Any], seed: int) -> dict[str, int]:
    order = list(batches)
    random.Random(seed).shuffle(order)
    counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
    with httpx.Client(base_url=url, timeout=120) as client:
        for org, events in order:
            headers = {"Authorization": f"Bearer {keys[org]}"}
            answer = client.post("/v1/events/batch", json={"events": events}, headers=headers)
            assert answer.status_code == 200, answer.text
            for name in counts:
                counts[name] += answer.json()[name]
    return counts


def _one_by_one(url: str, keys: dict[str, str], batches: list[Any], seed: int) -> dict[str, int]:
    order = [(org, event) for org, events in batches for event in events]
    random.Random(seed).shuffle(order)
    counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
    named = {"accepted": "accepted", "duplicate": "duplicates"}
    with httpx.Client(base_url=url, timeout=120) as client:
        for org, event in order:
            headers = {"Authorization": f"Bearer {keys[org]}"}
            answer = client.post("/v1/events", json=event, headers=headers)
            assert answer.status_code in (200, 201), answer.text
            counts[named.get(answer.json()["status"], "rejected")] += 1
    return counts


@pytest.mark.parametrize(
    ("post_all", "scale"), [(_post_all, 0.003), (_one_by_one, 0.001)], ids=["batches", "single"]
)
def test_overlapping_concurrent_posts_store_each_event_once(
    database_url: str, tmp_path: Path, post_all: Any, scale: float
) -> None:
    batches = _batches(scale)
    events = sum(len(events) for _, events in batches)
    env = {"JOINUP_ADMIN_KEY": ADMIN}
    with serve(database_url, tmp_path / "server.log", workers=2, env=env) as server:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        keys = {}
        for org in {org for org, _ in batches}:
            made = httpx.post(
                f"{server.url}/v1/keys", json=key_body(org, "submitter"), headers=admin
            )
            keys[org] = made.json()["secret"]
        with ThreadPoolExecutor(CLIENTS) as pool:
            runs = list(pool.map(lambda n: post_all(server.url, keys, batches, n), range(CLIENTS)))
    assert sum(run["accepted"] for run in runs) == events
    assert sum(run["duplicates"] for run in runs) == events * (CLIENTS - 1)
    assert all(run["rejected"] == 0 for run in runs)
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*), count(DISTINCT org || event_id) FROM event"))
        assert tuple(stored.one()) == (events, events)
    engine.dispose()
    stored_versions, fresh_versions = stored_and_fresh(database_url)
    assert stored_versions == fresh_versions
    assert len(stored_versions) > 0
