"""The change feed tells the whole story (CONTRACT §7): replaying every change from the start
gives each release's stage and open flags as its record shows them today, after any sequence
of posts, corrections and retractions in any order.

Each post re-derives only the releases its event bears on (app/domain/horizons.py) and writes
their changes from the versions it derived; a change missed or invented there shows here as a
replayed state that differs from the record.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.events import Event
from tests.support.api import Api, running
from tests.support.envelopes import london_today
from tests.support.expected import reset
from tests.support.histories import envelope, histories

PERSON = {"crn": "X000002"}


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with running(database_url, inline_worker=False) as client:
        yield client


@st.composite
def steps(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Posts of a history dated in the last 40 days (so that windows are open, closing and
    closed; none after today, as §3.2 requires), in a random order; some events first posted
    with a wrong date and then corrected, and some retracted later."""
    today = london_today()
    start = today - timedelta(days=40)
    events: list[Event] = draw(histories(start=start, days=40, max_events=10, order_free=True))
    planned: list[tuple[str, Any]] = []
    for event in events:
        body = envelope(event, PERSON)
        how = draw(st.sampled_from(["plain", "plain", "corrected", "retracted"]))
        if how == "corrected":
            moved = min(event.occurred_on + timedelta(days=draw(st.integers(-9, 9))), today)
            wrong = {**body, "occurred_on": moved.isoformat()}
            fixed = {**body, "event_id": f"{body['event_id']}-fix", "corrects": body["event_id"]}
            planned += [("post", wrong), ("post", fixed)]
        else:
            planned.append(("post", body))
            if how == "retracted":
                planned.append(("retract", body["event_id"]))
    return planned


def _send(api: Api, step: tuple[str, Any]) -> None:
    action, body = step
    if action == "post":
        answer = api.post(body)
    else:
        path = f"/v1/events/{body}/retraction"
        answer = api.client.post(path, json={"reason": "test"}, headers=api.submitter)
    assert answer.status_code in (200, 201), answer.text


def _replayed(api: Api) -> dict[str, tuple[str, frozenset[str]]]:
    """Each release's stage and open flags, from every change in the feed, oldest first."""
    state: dict[str, tuple[str, frozenset[str]]] = {}
    after: str | None = None
    while True:
        params = {"limit": "500", **({"after": after} if after else {})}
        answer = api.client.get("/v1/changes", params=params, headers=api.coordinator)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        for change in page["items"]:
            release = change["release_id"]
            kind = change["type"]
            if kind == "record.created":
                assert release not in state, f"created twice: {change}"
                state[release] = (change["stage"], frozenset())
                continue
            assert release in state, f"a change before the record was created: {change}"
            stage, flags = state[release]
            if kind == "record.stage_changed":
                assert change["previous_stage"] == stage, change
            elif kind == "record.flag_raised":
                assert change["flag"]["code"] not in flags, f"raised twice: {change}"
                flags |= {change["flag"]["code"]}
            else:
                assert change["flag"]["code"] in flags, f"resolved while closed: {change}"
                flags -= {change["flag"]["code"]}
            state[release] = (change["stage"], flags)
        if not page["items"]:
            return state
        after = page["next_after"]


def _open(resolved_on: str | None) -> bool:
    """A flag resolved on a later day (a first dose booked ahead) is open until then (§4)."""
    return resolved_on is None or resolved_on > london_today().isoformat()


def _recorded(api: Api) -> dict[str, tuple[str, frozenset[str]]]:
    """Each release's stage and open flags as its record shows them today."""
    view = api.person("crn", PERSON["crn"])
    if view.status_code == 404:
        return {}
    assert view.status_code == 200, view.text
    return {
        release["release_id"]: (
            release["stage"],
            frozenset(f["code"] for f in release["flags"] if _open(f["resolved_on"])),
        )
        for release in view.json()["releases"]
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(planned=steps(), seen_at=st.sets(st.integers(0, 30), max_size=3))
def test_replaying_the_feed_gives_every_record_as_it_is_today(
    api: Api, database_url: str, planned: list[tuple[str, Any]], seen_at: set[int]
) -> None:
    reset(database_url)
    for n, step in enumerate(planned):
        _send(api, step)
        if n in seen_at or n == len(planned) - 1:
            recorded = _recorded(api)
            replayed = _replayed(api)
            # A retracted release keeps its last state in the feed: §7 has no change for it.
            assert {r: replayed.get(r) for r in recorded} == recorded
