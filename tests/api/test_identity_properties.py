"""Identity as a property of the counting events (CONTRACT §3.1; docs/identity.md).

Random posts, corrections (of events posted before or still to come) and retractions, over a
small pool of identifiers so that events collide, conflict and get linked and unlinked. Whatever
the service answered, afterwards:

1. every identifier is held by the person of the counting events that carry it, and by nobody
   when none does, its carriers counting exactly those events;
2. a person holds at most one value of each scheme;
3. each person's counting events are linked by shared identifiers, and no two people's share
   one: the people are the connected groups of the counting events, a function of the set of
   counting events alone;
4. the stored records are those the rules give each person's counting events, and a person with
   none has no record;
5. so the same counting events posted again, in another order, make the same people, whenever
   that order has no identity conflict to refuse (where one arrives that would link two people
   already made apart, it is refused, and then the order decides: see docs/identity.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from app.db.engine import sync_url
from app.domain.identity import parts
from tests.support.api import Api, running
from tests.support.envelopes import crn, event, nhs, nomis
from tests.support.expected import reset, stored_and_fresh

POOL = {
    "nomis": [nomis(n) for n in (1, 2, 3)],
    "crn": [crn(n) for n in (1, 2, 3)],
    "nhs": [nhs(1), nhs(2)],
}
IDS = [f"e{n}" for n in range(10)]


@pytest.fixture
def identity_api(database_url: str) -> Iterator[Api]:
    with running(database_url, rate_limit_per_minute=0) as api:
        yield api


@st.composite
def identities(draw: st.DrawFn, earlier: list[dict[str, str]]) -> dict[str, str]:
    """One or two identifiers, often one an earlier event carried, so that events link up."""
    drawn: dict[str, str] = {}
    if earlier and draw(st.integers(0, 3)) > 0:
        scheme, value = draw(st.sampled_from(sorted(draw(st.sampled_from(earlier)).items())))
        drawn[scheme] = value
    for scheme in draw(st.lists(st.sampled_from(sorted(POOL)), max_size=1 if drawn else 2)):
        drawn.setdefault(scheme, draw(st.sampled_from(POOL[scheme])))
    if not drawn:
        drawn["nomis"] = draw(st.sampled_from(POOL["nomis"]))
    return drawn


def _release(event_id: str, person: dict[str, str], day: int) -> dict[str, Any]:
    return event("prison.released", event_id, person=person, occurred_on=f"2026-03-{day:02d}")


@st.composite
def steps(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """("post", envelope) and ("retract", event id) steps, corrections among the posts.

    Some steps are a link: an event carrying two identifiers, and events carrying each of them
    alone, in any order, the link later retracted or corrected away (or not).
    """
    drawn: list[tuple[str, Any]] = []
    posted: list[str] = []
    carried: list[dict[str, str]] = []
    fresh = iter(range(1000))
    for _ in range(draw(st.integers(2, 12))):
        what = draw(st.sampled_from(["post", "post", "retract", "link"]))
        if what == "retract" and posted:
            drawn.append(("retract", draw(st.sampled_from(posted))))
        elif what == "link":
            pair = draw(identities(carried))
            if len(pair) < 2:
                continue
            (s1, v1), (s2, v2) = sorted(pair.items())
            ids = [f"k{next(fresh)}" for _ in range(3)]
            group = [
                _release(ids[0], pair, draw(st.integers(1, 9))),
                _release(ids[1], {s1: v1}, draw(st.integers(1, 9))),
                _release(ids[2], {s2: v2}, draw(st.integers(1, 9))),
            ]
            drawn += [("post", body) for body in draw(st.permutations(group))]
            ending = draw(st.sampled_from(["retract", "correct", "keep"]))
            if ending == "retract":
                drawn.append(("retract", ids[0]))
            elif ending == "correct":
                fix = _release(f"{ids[0]}b", draw(identities(carried)), draw(st.integers(1, 9)))
                drawn.append(("post", {**fix, "corrects": ids[0]}))
            posted += ids
            carried.append(pair)
        else:
            event_id = draw(st.sampled_from(IDS))
            body = _release(event_id, draw(identities(carried)), draw(st.integers(1, 9)))
            if draw(st.integers(0, 2)) == 0:
                body["corrects"] = draw(st.sampled_from([i for i in IDS if i != event_id]))
            drawn.append(("post", body))
            posted.append(event_id)
            carried.append(body["person"])
    return drawn


def _run(api: Api, drawn: list[tuple[str, Any]]) -> None:
    for action, body in drawn:
        if action == "post":
            answer = api.post(body)
        else:
            path = f"/v1/events/{body}/retraction"
            answer = api.client.post(path, json={"reason": "test"}, headers=api.submitter)
        # Anything but a server error: conflicts, unknown events and the like are answers too.
        assert answer.status_code < 500, answer.text


def _state(database_url: str) -> tuple[list[Any], dict[tuple[str, str], tuple[str, int]]]:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            counting = conn.execute(
                text(
                    "SELECT seq, event_id, person_id, person FROM event"
                    " WHERE superseded_by IS NULL AND retracted_at IS NULL"
                )
            ).all()
            held = conn.execute(text("SELECT scheme, value, person_id, carriers FROM identifier"))
            return list(counting), {(s, v): (p, c) for s, v, p, c in held}
    finally:
        engine.dispose()


def _keys(person: Any) -> list[tuple[str, str]]:
    given = person if isinstance(person, dict) else json.loads(person)
    return list(given.items())


def _people(database_url: str) -> set[frozenset[str]]:
    """Checks 1-4; the people, each as the set of its counting events' ids."""
    counting, held = _state(database_url)
    carriers: dict[tuple[str, str], int] = {}
    by_person: dict[str, list[tuple[int, list[tuple[str, str]]]]] = {}
    for seq, _, person_id, person in counting:
        keys = _keys(person)
        by_person.setdefault(person_id, []).append((seq, keys))
        for key in keys:
            assert held[key][0] == person_id, (key, held[key], person_id)
            carriers[key] = carriers.get(key, 0) + 1
    assert {key: c for key, (_, c) in held.items()} == carriers
    for person_id, events in by_person.items():
        schemes = [s for (s, _), (p, _) in held.items() if p == person_id]
        assert len(schemes) == len(set(schemes)), (person_id, schemes)
        assert len(parts(events)) == 1, events
    stored, fresh = stored_and_fresh(database_url)
    assert stored == fresh
    named = {seq: event_id for seq, event_id, _, _ in counting}
    return {frozenset(named[seq] for seq, _ in events) for events in by_person.values()}


def _envelopes(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT event_id, type, occurred_on, person, data FROM event"
                    " WHERE superseded_by IS NULL AND retracted_at IS NULL"
                )
            ).all()
    finally:
        engine.dispose()
    loads = json.loads
    return [
        {
            "event_id": event_id,
            "type": kind,
            "occurred_on": str(on),
            "person": person if isinstance(person, dict) else loads(person),
            "data": data if isinstance(data, dict) else loads(data),
        }
        for event_id, kind, on, person, data in rows
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=steps(), order=st.randoms(use_true_random=False))
def test_identity_follows_the_counting_events_in_any_order(
    identity_api: Api, database_url: str, drawn: list[tuple[str, Any]], order: Any
) -> None:
    api = identity_api
    reset(database_url)
    _run(api, drawn)
    people = _people(database_url)
    # The same counting events again, plainly, in another order.
    again = _envelopes(database_url)
    order.shuffle(again)
    reset(database_url)
    answers = [api.post(body) for body in again]
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    if all(a.status_code == 201 for a in answers):
        assert _people(database_url) == people
    else:
        assert all(a.json()["type"].endswith("/identity-conflict") for a in answers if a.is_error)
        _people(database_url)
