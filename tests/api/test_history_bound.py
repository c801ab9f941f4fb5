"""JOINUP_MAX_EVENTS_PER_PERSON: an event past the bound of a person's counting events is
refused (409 person-history-full) and nothing of it is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.api import Api, running
from tests.support.envelopes import event, nomis

MOST = 4
PERSON = {"nomis": nomis(7)}


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with running(database_url, max_events_per_person=MOST) as client:
        yield client


def _naloxone(n: int) -> dict[str, object]:
    return event("naloxone.issued", f"nx-{n}", person=PERSON, occurred_on=f"2026-03-0{n + 1}")


def _timeline(api: Api) -> list[str]:
    answer = api.client.get(f"/v1/people/nomis/{PERSON['nomis']}/timeline", headers=api.probation)
    assert answer.status_code == 200, answer.text
    return [e["event_id"] for e in answer.json()["events"]]


def test_an_event_past_the_bound_is_refused_and_not_stored(api: Api) -> None:
    answer = api.batch([_naloxone(n) for n in range(MOST)])
    assert answer.json()["accepted"] == MOST
    refused = api.post(_naloxone(MOST))
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/person-history-full")
    assert _timeline(api) == [f"nx-{n}" for n in range(MOST)]
    assert api.client.get(f"/v1/events/nx-{MOST}", headers=api.submitter).status_code == 404


def test_a_batch_stores_up_to_the_bound_and_refuses_the_rest(api: Api) -> None:
    answer = api.batch([_naloxone(n) for n in range(MOST + 2)])
    assert answer.status_code == 200, answer.text
    statuses = [
        (r["status"], (r.get("problem") or {}).get("type", "")) for r in answer.json()["results"]
    ]
    assert [s for s, _ in statuses] == ["accepted"] * MOST + ["rejected"] * 2
    assert all(t.endswith("/person-history-full") for _, t in statuses[MOST:])
    assert _timeline(api) == [f"nx-{n}" for n in range(MOST)]


def test_an_atomic_batch_past_the_bound_stores_nothing(api: Api) -> None:
    answer = api.batch([_naloxone(n) for n in range(MOST + 1)], atomic=True)
    assert answer.status_code == 422, answer.text
    assert api.client.get("/v1/events/nx-0", headers=api.submitter).status_code == 404


def test_a_correction_of_a_full_history_is_stored(api: Api) -> None:
    api.batch([_naloxone(n) for n in range(MOST)])
    fixed = {**_naloxone(0), "event_id": "nx-0b", "corrects": "nx-0", "occurred_on": "2026-03-09"}
    assert api.post(fixed).status_code == 201
    assert sorted(_timeline(api)) == sorted(["nx-0b", *(f"nx-{n}" for n in range(1, MOST))])
