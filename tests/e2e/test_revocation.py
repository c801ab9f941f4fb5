"""Revoking a key, or changing its scope or event types, applies to the very next request on
every process serving the database (CONTRACT §2.1): two real server processes, one database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import key_body
from tests.support.envelopes import event
from tests.support.server import ADMIN, Server, serve

ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def two(database_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    env = {"JOINUP_ADMIN_KEY": ADMIN, "JOINUP_INLINE_WORKER": "0"}
    with ExitStack() as stack:
        first = stack.enter_context(serve(database_url, tmp_path / "a.log", env=env))
        second = stack.enter_context(serve(database_url, tmp_path / "b.log", env=env))
        yield first, second


def _made(server: Server, body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    answer = httpx.post(f"{server.url}/v1/keys", json=body, headers=ADMIN_HEADERS)
    assert answer.status_code == 201, answer.text
    return answer.json()["key_id"], {"Authorization": f"Bearer {answer.json()['secret']}"}


def _warm(server: Server, headers: dict[str, str]) -> None:
    # Enough reads for any remembering of the key to have happened.
    for _ in range(20):
        assert httpx.get(f"{server.url}/v1/events/none", headers=headers).status_code == 404


def test_a_key_revoked_through_one_process_is_refused_by_the_other_at_once(
    two: tuple[Server, Server],
) -> None:
    first, second = two
    key_id, headers = _made(first, key_body("PROVIDER-X", "submitter"))
    _warm(second, headers)
    assert httpx.delete(f"{first.url}/v1/keys/{key_id}", headers=ADMIN_HEADERS).status_code == 204
    assert httpx.get(f"{second.url}/v1/events/none", headers=headers).status_code == 401


def test_a_scope_or_event_types_changed_through_one_process_apply_on_the_other_at_once(
    two: tuple[Server, Server],
) -> None:
    first, second = two
    _, poster = _made(first, key_body("HMP-LPI", "submitter"))
    released = event(event_id="lpi-1", prison="LPI")
    assert httpx.post(f"{first.url}/v1/events", json=released, headers=poster).status_code == 201
    key_id, reader = _made(first, key_body("COORD", "coordinator", scope={"prisons": ["LPI"]}))

    def listed() -> int:
        answer = httpx.get(f"{second.url}/v1/releases", headers=reader)
        assert answer.status_code == 200, answer.text
        return len(answer.json()["items"])

    assert [listed() for _ in range(20)] == [1] * 20
    narrowed = {"prisons": ["MDI"]}
    path = f"{first.url}/v1/keys/{key_id}/scope"
    assert httpx.put(path, json=narrowed, headers=ADMIN_HEADERS).status_code == 200
    assert listed() == 0
    submitter_id, submitter = _made(first, key_body("HMP-LPI", "submitter"))
    _warm(second, submitter)
    types = f"{first.url}/v1/keys/{submitter_id}/event_types"
    assert httpx.put(types, json=["person.died"], headers=ADMIN_HEADERS).status_code == 200
    again = event(event_id="lpi-2", prison="LPI", occurred_on="2026-03-03")
    refused = httpx.post(f"{second.url}/v1/events", json=again, headers=submitter)
    assert refused.status_code == 403, refused.text
