"""A cursor walk through the gap list misses and repeats nothing while events keep arriving."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.support.api import Api
from tests.support.envelopes import event, nomis

AS_OF = "2026-06-30"


def _release(n: int, released_on: date) -> dict[str, Any]:
    return event(
        event_id=f"rel-{n}",
        occurred_on=released_on.isoformat(),
        person={"nomis": nomis(n)},
    )


def test_walk_sees_each_release_once_while_events_arrive(api: Api) -> None:
    first = date(2026, 1, 1)
    before = [_release(n, first + timedelta(days=n % 20)) for n in range(30)]
    assert api.batch(before).json()["accepted"] == 30
    seen: list[str] = []
    cursor: str | None = None
    added = 100
    while True:
        params = {"as_of": AS_OF, "limit": 4, **({"cursor": cursor} if cursor else {})}
        page = api.releases(**params).json()
        seen += [item["release_id"] for item in page["items"]]
        # Between pages: new people released before and after the walk's position, and news
        # of people already listed (a pickup moves their record on but not their place).
        for when in (first - timedelta(days=added), first + timedelta(days=40 + added)):
            assert api.post(_release(added, when)).status_code == 201
            added += 1
        pickup = event(
            "community.treatment.started",
            f"pickup-{added}",
            occurred_on="2026-01-25",
            person={"nomis": nomis(added % 30)},
        )
        assert api.post(pickup).status_code == 201
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a release was listed twice"
    everything = api.releases(as_of=AS_OF, limit=500).json()["items"]
    original = {
        item["release_id"] for item in everything if item["person_id"] in _people_of(api, 30)
    }
    assert original <= set(seen), "a release present throughout was missed"
    assert len(original) == 30


def _people_of(api: Api, count: int) -> set[str]:
    found = set()
    for n in range(count):
        view = api.client.get(f"/v1/people/nomis/{nomis(n)}", headers=api.probation).json()
        found.add(view["person_id"])
    return found
