"""Arrival order, duplicates, corrections and retractions do not change the records (§3.3).

A random history is posted as a random shuffle of postings: some events arrive as a decoy (same
type, another date) followed or preceded by the correction carrying the true content; extra
decoys are posted and then retracted; some postings are sent twice; they go one by one, in a
batch, or all at once from several clients. Whatever the order, the handover view must equal
the rules run on the history itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.events import Event
from app.domain.rules import Rules
from tests.support.api import Api, running
from tests.support.expected import as_stored, handover, records, reset
from tests.support.histories import dates, envelope, histories

RULES_SETTINGS = {"pickup_window_days": 5, "retention_days": 10, "ost_grace_days": 1}
PERSON = {"crn": "X000001"}


@pytest.fixture
def small_rules_api(database_url: str) -> Iterator[Api]:
    with running(database_url, **RULES_SETTINGS) as api:
        yield api


def _shifted(event: dict[str, Any], event_id: str, days: int) -> dict[str, Any]:
    moved = date.fromisoformat(event["occurred_on"]) + timedelta(days=days)
    return {**event, "event_id": event_id, "occurred_on": moved.isoformat()}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Event], list[tuple[str, Any]]]:
    """A history, and the postings ("post" envelope | "retract" event id) that make it."""
    events = draw(histories(order_free=True, max_events=12))
    groups: list[list[tuple[str, Any]]] = []
    for event in events:
        true = envelope(event, PERSON)
        how = draw(st.sampled_from(["plain", "corrected-after", "corrected-before"]))
        if how == "plain":
            groups.append([("post", true)])
            continue
        decoy = _shifted(true, true["event_id"], draw(st.integers(-3, 3)))
        correction = {**true, "event_id": true["event_id"] + "-fix", "corrects": true["event_id"]}
        pair = [("post", decoy), ("post", correction)]
        groups.append(pair if how == "corrected-after" else pair[::-1])
    for n in range(draw(st.integers(0, 3))):
        extra = _shifted(envelope(draw(st.sampled_from(events)), PERSON), f"gone-{n}", n)
        groups.append([("post", extra), ("retract", extra["event_id"])])
    return events, _interleave(draw, groups)


def _interleave(draw: st.DrawFn, groups: list[list[tuple[str, Any]]]) -> list[tuple[str, Any]]:
    """Shuffle the groups together, each group's own order kept, with some steps repeated."""
    pending = [list(group) for group in groups]
    steps: list[tuple[str, Any]] = []
    while any(pending):
        group = draw(st.sampled_from([g for g in pending if g]))
        step = group.pop(0)
        steps += [step] * draw(st.sampled_from([1, 1, 1, 2]))
    return steps


def _send(api: Api, steps: list[tuple[str, Any]], how: str) -> None:
    posts = [body for action, body in steps if action == "post"]
    # Retractions go after everything they name has arrived.
    if how == "batched":
        # A batch keeps the order.
        assert api.batch(posts).status_code == 200
        steps = [step for step in steps if step[0] == "retract"]
    elif how == "concurrently":
        # One-event posts at once, in whatever order they reach the service; they share
        # transactions (app/services/ingest/group_commit.py).
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(api.post, posts))
        assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
        steps = [step for step in steps if step[0] == "retract"]
    for action, body in steps:
        if action == "post":
            answer = api.post(body)
            assert answer.status_code in (200, 201), answer.text
        else:
            path = f"/v1/events/{body}/retraction"
            answer = api.client.post(path, json={"reason": "test"}, headers=api.submitter)
            assert answer.status_code == 200, answer.text


def _without_release_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Which same-date release event names a release depends on arrival; nothing else may.
    return [{k: v for k, v in item.items() if k != "release_id"} for item in items]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scenario=scenarios(),
    as_of=dates(days=60),
    how=st.sampled_from(["one by one", "batched", "concurrently"]),
)
def test_any_order_of_postings_gives_the_records_of_the_history(
    small_rules_api: Api,
    database_url: str,
    scenario: tuple[list[Event], list[tuple[str, Any]]],
    as_of: date,
    how: str,
) -> None:
    api = small_rules_api
    reset(database_url)
    events, steps = scenario
    _send(api, steps, how)
    view = api.person("crn", PERSON["crn"], as_of=as_of.isoformat())
    assert view.status_code == 200, view.text
    person_id = view.json()["person_id"]
    rules = Rules(**RULES_SETTINGS)
    stored = as_stored(events, "PROVIDER-A")
    want = records(person_id, PERSON, stored, as_of, rules)[::-1]
    shown = view.json()["releases"]
    assert _without_release_ids(shown) == _without_release_ids(handover(want, stored, as_of))
    # A person's releases have distinct dates, so the gap list's order is theirs too.
    listed = api.releases(as_of=as_of.isoformat(), limit=500).json()["items"]
    assert _without_release_ids(listed) == _without_release_ids(want)
    assert [item["release_id"] for item in listed] == [item["release_id"] for item in shown]
