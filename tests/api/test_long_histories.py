"""Long histories through the API, on both databases: a history posted in pieces (a batch, then
single events, a correction that moves an event or a release across its neighbours, a
retraction), each write re-deriving only the releases it bears on, leaves exactly the release
versions a derivation of the whole history gives. Those equal `derive` on every day
(tests/unit/test_properties.py, tests/unit/test_horizons.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.events import Event
from app.domain.vocabulary import EventType
from tests.support.api import Api, running
from tests.support.expected import reset, stored_and_fresh
from tests.support.histories import START, dates, envelope, histories

DAYS = 400
PERSON = {"crn": "L123456"}


@pytest.fixture
def long_api(database_url: str) -> Iterator[Api]:
    with running(database_url, rate_limit_per_minute=0) as api:
        yield api


def _moved(draw: st.DrawFn, event: Event) -> dict[str, Any]:
    """A correction of `event` to another date (its first dose too, for a prescription)."""
    on = draw(dates(START, DAYS))
    data = dict(event.data)
    if event.type == EventType.OST_PRESCRIBED:
        data["first_dose_on"] = draw(dates(on - timedelta(days=3), 15) | dates(on, 90))
    fixed = envelope(Event(event.seq, event.type, on, data, f"{event.lineage}-fix"), PERSON)
    return {**fixed, "corrects": event.lineage}


@st.composite
def writes(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """A long history's first part as one batch, the rest one event at a time, corrections
    moving some of them (a release among them, when there is one), and retractions."""
    events = sorted(
        draw(histories(days=DAYS, max_releases=30, max_events=60, prefix="lh")),
        key=lambda e: e.seq,
    )
    cut = draw(st.integers(1, len(events)))
    batch = [envelope(e, PERSON) for e in events[:cut]]
    singles = [envelope(e, PERSON) for e in events[cut:]]
    releases = [e for e in events if e.type == EventType.PRISON_RELEASED]
    chosen = draw(st.lists(st.sampled_from(events), max_size=3, unique_by=lambda e: e.lineage))
    if bool(releases) and draw(st.booleans()):
        chosen = [*chosen, draw(st.sampled_from(releases))]
    fixes = [_moved(draw, e) for e in {e.lineage: e for e in chosen}.values()]
    fixed = {f["corrects"] for f in fixes}
    unfixed = [e.lineage for e in events if e.lineage not in fixed]
    retracted = draw(st.lists(st.sampled_from(unfixed), max_size=2, unique=True)) if unfixed else []
    return batch, [*singles, *fixes], [*retracted, *(f["event_id"] for f in fixes[:1])]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=writes())
def test_pieces_of_a_long_history_store_the_whole_history_s_versions(
    long_api: Api, database_url: str, drawn: tuple[list[Any], list[Any], list[str]]
) -> None:
    api = long_api
    reset(database_url)
    batch, singles, retracted = drawn
    assert api.batch(batch).json()["accepted"] == len(batch)
    for body in singles:
        answer = api.post(body)
        assert answer.status_code == 201, answer.text
    for event_id in retracted:
        answer = api.client.post(
            f"/v1/events/{event_id}/retraction", json={"reason": "test"}, headers=api.submitter
        )
        assert answer.status_code == 200, answer.text
    stored, fresh = stored_and_fresh(database_url)
    assert stored == fresh
