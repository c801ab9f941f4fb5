"""Posting events in batches (CONTRACT §3.3): per-item results, duplicates, atomic batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from httpx import Response

from app.services import derivation
from app.services import people as people_service
from tests.support.api import Api, running, runtime_of
from tests.support.envelopes import assert_invalid, assert_problem, event, nomis
from tests.support.expected import stored_and_fresh


def read(api: Api, event_id: str) -> Response:
    return api.client.get(f"/v1/events/{event_id}", headers=api.submitter)


def ok(answer: Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    return body


def statuses(body: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(r["index"], r["event_id"], r["status"]) for r in body["results"]]


def counts(body: dict[str, Any]) -> tuple[int, int, int]:
    return body["accepted"], body["duplicates"], body["rejected"]


def slug_of(result: dict[str, Any]) -> str:
    slug: str = result["problem"]["type"].rsplit("/", 1)[-1]
    return slug


def test_a_mixed_batch_answers_per_item(api: Api) -> None:
    assert api.post(event(event_id="old-1")).status_code == 201
    assert api.post(event(event_id="old-2", release_type="hdc")).status_code == 201
    bad = event(event_id="bad-1", person={"nomis": nomis(7)}, release_type="parole")
    items = [
        event("naloxone.issued", "new-1"),
        bad,
        event(event_id="old-1"),
        event(event_id="old-2", release_type="pss"),
    ]
    body = ok(api.batch(items))
    assert counts(body) == (1, 1, 2)
    assert statuses(body) == [
        (0, "new-1", "accepted"),
        (1, "bad-1", "rejected"),
        (2, "old-1", "duplicate"),
        (3, "old-2", "rejected"),
    ]
    results = body["results"]
    assert "problem" not in results[0] or results[0]["problem"] is None
    assert slug_of(results[1]) == "validation-error"
    assert results[1]["problem"]["status"] == 422
    assert results[1]["problem"]["errors"]
    assert slug_of(results[3]) == "event-id-conflict"
    assert results[3]["problem"]["status"] == 409
    assert read(api, "new-1").status_code == 200
    assert_problem(read(api, "bad-1"), 404, "not-found")
    assert read(api, "old-2").json()["data"]["release_type"] == "hdc"
    assert_problem(api.person("nomis", nomis(7)), 404, "not-found")


def test_accepted_items_name_their_person(api: Api) -> None:
    person_id = api.post(event(event_id="ev-1")).json()["person_id"]
    body = ok(api.batch([event("naloxone.issued", "ev-2"), event(event_id="ev-1")]))
    assert [r["person_id"] for r in body["results"]] == [person_id, person_id]


def test_the_same_batch_twice_is_all_duplicates_and_changes_nothing(api: Api) -> None:
    items = [event(event_id=f"ev-{i}", person={"nomis": nomis(i)}) for i in range(1, 4)]
    assert counts(ok(api.batch(items))) == (3, 0, 0)
    before = [read(api, f"ev-{i}").json() for i in range(1, 4)]
    again = ok(api.batch(items))
    assert counts(again) == (0, 3, 0)
    assert [s for _, _, s in statuses(again)] == ["duplicate"] * 3
    assert [read(api, f"ev-{i}").json() for i in range(1, 4)] == before


def test_an_event_repeated_inside_a_batch_is_stored_once(api: Api) -> None:
    body = ok(api.batch([event(event_id="ev-1"), event(event_id="ev-1")]))
    assert statuses(body) == [(0, "ev-1", "accepted"), (1, "ev-1", "duplicate")]
    assert len(api.person("nomis", nomis(), as_of="2026-06-30").json()["releases"]) == 1


def test_an_event_id_repeated_with_other_content_inside_a_batch_keeps_the_first(
    api: Api,
) -> None:
    items = [event(event_id="ev-1", release_type="hdc"), event(event_id="ev-1")]
    body = ok(api.batch(items))
    assert statuses(body) == [(0, "ev-1", "accepted"), (1, "ev-1", "rejected")]
    assert slug_of(body["results"][1]) == "event-id-conflict"
    assert read(api, "ev-1").json()["data"]["release_type"] == "hdc"


def test_a_batch_may_hold_an_event_and_its_correction(api: Api) -> None:
    items = [
        event(event_id="rel-1b", corrects="rel-1", release_type="hdc"),
        event(event_id="rel-1"),
    ]
    assert counts(ok(api.batch(items))) == (2, 0, 0)
    assert read(api, "rel-1").json()["superseded_by"] == "rel-1b"
    records = api.person("nomis", nomis(), as_of="2026-06-30").json()["releases"]
    assert [r["release_type"] for r in records] == ["hdc"]


def test_a_batch_may_hold_a_chain_of_corrections_in_reverse_order(api: Api) -> None:
    items = [
        event(event_id="rel-1c", corrects="rel-1b", release_type="pss"),
        event(event_id="rel-1b", corrects="rel-1", release_type="hdc"),
        event(event_id="rel-1"),
    ]
    assert counts(ok(api.batch(items))) == (3, 0, 0)
    assert read(api, "rel-1").json()["superseded_by"] == "rel-1b"
    assert read(api, "rel-1b").json()["superseded_by"] == "rel-1c"
    records = api.person("nomis", nomis(), as_of="2026-06-30").json()["releases"]
    assert [r["release_type"] for r in records] == ["pss"]


def test_two_corrections_of_one_event_inside_a_batch_reject_the_second(api: Api) -> None:
    items = [
        event(event_id="rel-1"),
        event(event_id="rel-1b", corrects="rel-1", release_type="hdc"),
        event(event_id="rel-1c", corrects="rel-1", release_type="pss"),
    ]
    body = ok(api.batch(items))
    assert [s for _, _, s in statuses(body)] == ["accepted", "accepted", "rejected"]
    assert slug_of(body["results"][2]) == "already-corrected"
    assert read(api, "rel-1").json()["superseded_by"] == "rel-1b"


def test_an_identity_conflict_inside_a_batch_rejects_only_that_item(api: Api) -> None:
    items = [
        event(event_id="ev-1", person={"nomis": nomis(1)}),
        event(event_id="ev-2", person={"crn": "X000002"}),
        event("naloxone.issued", "ev-3", person={"nomis": nomis(1), "crn": "X000002"}),
    ]
    body = ok(api.batch(items))
    assert [s for _, _, s in statuses(body)] == ["accepted", "accepted", "rejected"]
    assert slug_of(body["results"][2]) == "identity-conflict"
    assert api.person("crn", "X000002").json()["identifiers"] == {"crn": "X000002"}


def test_an_atomic_batch_with_one_bad_item_stores_nothing(api: Api) -> None:
    items = [
        event(event_id="ev-1", person={"nomis": nomis(1)}),
        event(event_id="ev-2", person={"nomis": nomis(2)}, occurred_on="1999-12-31"),
        event("naloxone.issued", "ev-3", person={"nomis": nomis(3)}),
    ]
    body = assert_problem(api.batch(items, atomic=True), 422)
    assert [(r["index"], r["event_id"]) for r in body["results"]] == [
        (0, "ev-1"),
        (1, "ev-2"),
        (2, "ev-3"),
    ]
    assert body["results"][1]["status"] == "rejected"
    assert slug_of(body["results"][1]) == "validation-error"
    assert body["accepted"] == 0
    assert all(r["status"] != "accepted" for r in body["results"])
    for i in (1, 2, 3):
        assert_problem(read(api, f"ev-{i}"), 404, "not-found")
        assert_problem(api.person("nomis", nomis(i)), 404, "not-found")


def test_an_atomic_batch_refused_for_a_conflict_stores_nothing(api: Api) -> None:
    assert api.post(event(event_id="old-1", release_type="hdc")).status_code == 201
    items = [
        event("naloxone.issued", "ev-1", person={"nomis": nomis(1), "crn": "X000001"}),
        event(event_id="old-1", release_type="pss"),
    ]
    body = assert_problem(api.batch(items, atomic=True), 422)
    assert slug_of(body["results"][1]) == "event-id-conflict"
    assert_problem(read(api, "ev-1"), 404, "not-found")
    assert api.person("nomis", nomis(1)).json()["identifiers"] == {"nomis": nomis(1)}
    assert_problem(api.person("crn", "X000001"), 404, "not-found")


def test_an_atomic_batch_that_is_all_good_is_stored(api: Api) -> None:
    items = [event(event_id=f"ev-{i}", person={"nomis": nomis(i)}) for i in range(1, 4)]
    body = ok(api.batch(items, atomic=True))
    assert counts(body) == (3, 0, 0)
    assert all(read(api, f"ev-{i}").status_code == 200 for i in range(1, 4))


def test_an_atomic_batch_of_duplicates_is_not_refused(api: Api) -> None:
    assert api.post(event(event_id="ev-1")).status_code == 201
    body = ok(api.batch([event(event_id="ev-1"), event("naloxone.issued", "ev-2")], atomic=True))
    assert counts(body) == (1, 1, 0)


def test_an_empty_batch_is_answered_with_zero_counts(api: Api) -> None:
    body = ok(api.batch([]))
    assert counts(body) == (0, 0, 0)
    assert body["results"] == []


def test_a_batch_over_the_limit_is_413(database_url: str) -> None:
    with running(database_url, max_batch=3) as api:
        items = [event(event_id=f"ev-{i}", person={"nomis": nomis(i)}) for i in range(1, 5)]
        assert_problem(api.batch(items), 413, "payload-too-large")
        assert all(read(api, f"ev-{i}").status_code == 404 for i in range(1, 5))
        assert counts(ok(api.batch(items[:3]))) == (3, 0, 0)


def test_batches_posted_at_once_are_all_stored(api: Api) -> None:
    def batch(n: int) -> Response:
        items = [event(event_id=f"b{n}-{i}", person={"nomis": nomis(10 * n + i)}) for i in range(5)]
        return api.batch(items)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(batch, range(4)))
    assert [counts(ok(answer)) for answer in answers] == [(5, 0, 0)] * 4


def test_a_batch_refused_however_it_is_refused_gives_up_its_turn(database_url: str) -> None:
    with running(database_url, batch_concurrency=1, max_batch=2) as api:
        headers = {**api.submitter, "Content-Type": "application/json"}
        turns = runtime_of(api).batch_turns
        refusals: list[tuple[Callable[[], Response], int]] = [
            (lambda: api.batch([event(event_id=f"ev-{i}") for i in range(3)]), 413),
            (lambda: api.client.post("/v1/events/batch", content=b"{", headers=headers), 400),
            (lambda: api.client.post("/v1/events/batch", json={}, headers=headers), 422),
            (lambda: api.batch([event(occurred_on="1999-12-31")], atomic=True), 422),
        ]
        for post, status in refusals:
            assert_problem(post(), status)
            # Had it kept the one turn, the next batch would wait for ever.
            assert not turns.locked()
        assert counts(ok(api.batch([event(event_id="ok-1")]))) == (1, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        [],
        [event()],
        "events",
        42,
        None,
        {},
        {"events": {}},
        {"events": "ev-1"},
        {"events": None},
        {"events": [event()], "extra": True},
        {"events": [event()], "atomic": "yes"},
        {"events": [event()], "atomic": None},
    ],
    ids=repr,
)
def test_a_batch_body_of_the_wrong_shape_is_422(api: Api, body: Any) -> None:
    headers = {**api.submitter, "Content-Type": "application/json"}
    answer = api.client.post("/v1/events/batch", content=json.dumps(body), headers=headers)
    assert_invalid(answer)
    assert_problem(read(api, "ev-1"), 404, "not-found")


def test_a_batch_with_an_unknown_top_level_field_names_it(api: Api) -> None:
    answer = api.client.post(
        "/v1/events/batch", json={"events": [], "extra": True}, headers=api.submitter
    )
    assert_invalid(answer, "extra")


@pytest.mark.parametrize("item", ["ev-1", 7, 1.5, None, True, [event()], []], ids=repr)
def test_an_item_that_is_not_an_object_is_rejected_alone(api: Api, item: Any) -> None:
    body = ok(api.batch([item, event(event_id="ev-2")]))
    assert counts(body) == (1, 0, 1)
    first = body["results"][0]
    assert (first["index"], first["event_id"], first["status"]) == (0, None, "rejected")
    assert slug_of(first) == "validation-error"
    assert body["results"][1]["status"] == "accepted"
    assert read(api, "ev-2").status_code == 200


def test_a_batch_about_more_people_than_one_read_takes_stores_every_record(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch's people have their events read a few at a time (app.tuning.FETCH_PEOPLE).
    monkeypatch.setattr(derivation, "FETCH_PEOPLE", 3)
    first = [event(event_id=f"rel-{n}", person={"nomis": nomis(n)}) for n in range(10)]
    assert ok(api.batch(first))["accepted"] == 10
    # Again, with people already stored: their events are read back, stored and new together.
    pickups = [
        event(
            "community.treatment.started",
            f"start-{n}",
            occurred_on="2026-03-10",
            person={"nomis": nomis(n)},
        )
        for n in range(0, 10, 2)
    ]
    assert ok(api.batch(pickups))["accepted"] == 5
    stored, fresh = stored_and_fresh(database_url)
    assert len({dict(row)["person_id"] for row in stored}) == 10
    assert stored == fresh


def test_a_new_persons_records_come_from_the_batch_as_stored(api: Api, database_url: str) -> None:
    # A person the batch makes is derived from the batch's own events, not read back
    # (_events_of_new_people in app/services/ingest/posts.py): same-day events in arrival
    # order, a correction in the batch, and one that came before the event it corrects.
    who = {"nomis": nomis(1)}
    started, picked_up = "prison.treatment.started", "community.treatment.started"
    items = [
        event(started, "start-1", person=who, occurred_on="2026-02-01"),
        event(
            started, "start-2", person=who, occurred_on="2026-02-01", substance_group="alcohol_only"
        ),
        event("prison.released", "rel-1", person=who, prison="LEI"),
        event("prison.released", "rel-1-fixed", person=who, prison="MDI", corrects="rel-1"),
        event(picked_up, "pickup-fixed", person=who, occurred_on="2026-06-30", corrects="pickup"),
        event(picked_up, "pickup", person=who, occurred_on="2026-03-05"),
    ]
    assert counts(ok(api.batch(items))) == (6, 0, 0)
    stored, fresh = stored_and_fresh(database_url)
    assert stored == fresh
    (record,) = api.person("nomis", nomis(1)).json()["releases"]
    # The later of the two same-day starts; the corrected release; the pickup as corrected,
    # after the window.
    assert (record["substance_group"], record["prison"]) == ("alcohol_only", "MDI")
    assert (record["picked_up_on"], record["late_pickup_on"]) == (None, "2026-06-30")


def test_a_read_counts_as_in_flight_while_it_runs_so_batches_give_way(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batch work pauses while a read is in flight (app/tuning/turns.py): every read counts.
    readers = runtime_of(api).readers
    during: list[int] = []
    handover = people_service.handover

    async def observed(*args: Any, **kwargs: Any) -> Any:
        during.append(readers.in_flight)
        return await handover(*args, **kwargs)

    monkeypatch.setattr(people_service, "handover", observed)
    assert ok(api.batch([event(event_id="ev-1", person={"nomis": nomis(1)})]))["accepted"] == 1
    assert api.person("nomis", nomis(1)).status_code == 200
    assert api.person("nomis", nomis(2)).status_code == 404
    assert during == [1, 1]
    assert readers.in_flight == 0
