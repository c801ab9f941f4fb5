"""For providers: the list of what an organisation posted (`GET /v1/events`), and posts that
are only checked (`?dry_run=true`)."""

from __future__ import annotations

from typing import Any

from tests.api.test_audit import trail
from tests.support.api import Api
from tests.support.envelopes import assert_invalid, assert_problem, crn, event, nomis


def _listed(api: Api, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    answer = api.client.get("/v1/events", params=params, headers=headers or api.submitter)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _walk(api: Api, limit: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    query: dict[str, Any] = {"limit": limit, **filters}
    while True:
        page = _listed(api, **query)
        seen += [item["event_id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return seen
        query["cursor"] = page["next_cursor"]


def test_an_organisation_lists_its_own_events_and_no_one_else_s(api: Api) -> None:
    mine = [event(event_id=f"m-{n}", person={"nomis": nomis(n)}) for n in range(1, 6)]
    mine.insert(2, event("naloxone.issued", "m-nal", person={"nomis": nomis(1)}))
    assert api.batch(mine).json()["accepted"] == 6
    theirs = event(event_id="m-1", person={"nomis": nomis(9)})
    assert api.post(theirs, headers=api.other_submitter).status_code == 201
    assert api.post(event(event_id="m-5", corrects="m-4", person={"nomis": nomis(4)})).is_error
    page = _listed(api)
    assert [item["event_id"] for item in page["items"]] == [e["event_id"] for e in mine]
    assert page["items"][0]["person"] == {"nomis": nomis(1)}
    assert page["next_cursor"] is None
    assert _walk(api, 2) == [e["event_id"] for e in mine]
    assert _walk(api, 1, type="naloxone.issued") == ["m-nal"]
    assert [i["event_id"] for i in _listed(api, api.other_submitter)["items"]] == ["m-1"]
    assert _listed(api, since="2999-01-01T00:00:00Z")["items"] == []
    assert len(_listed(api, since="2000-01-01")["items"]) == 6


def test_the_list_shows_retractions_and_corrections(api: Api) -> None:
    assert api.post(event(event_id="r-1")).status_code == 201
    assert api.post(event(event_id="r-2", corrects="r-1", prison="LPI")).status_code == 201
    retracted = api.client.post(
        "/v1/events/r-2/retraction", json={"reason": "test"}, headers=api.submitter
    )
    assert retracted.status_code == 200
    items = {item["event_id"]: item for item in _listed(api)["items"]}
    assert items["r-1"]["superseded_by"] == "r-2"
    assert items["r-2"]["retracted"] is True and items["r-2"]["corrects"] == "r-1"


def test_a_cursor_refuses_other_filters_and_bad_queries_are_refused(api: Api) -> None:
    api.batch([event(event_id=f"c-{n}", person={"nomis": nomis(n)}) for n in range(1, 4)])
    cursor = _listed(api, limit=1, type="prison.released")["next_cursor"]
    assert cursor is not None
    other = api.client.get(
        "/v1/events", params={"cursor": cursor, "type": "naloxone.issued"}, headers=api.submitter
    )
    assert_problem(other, 422, "cursor-mismatch")
    # The next page needs only the cursor, which carries the filters of the first.
    assert [i["event_id"] for i in _listed(api, cursor=cursor, limit=5)["items"]] == ["c-2", "c-3"]
    same = _listed(api, cursor=cursor, type="prison.released", limit=1)
    assert same["items"][0]["event_id"] == "c-2"
    wrong_type = api.client.get(
        "/v1/events", params={"type": "prison.relased"}, headers=api.submitter
    )
    body = assert_invalid(wrong_type, "query", "type")
    assert "did you mean 'prison.released'?" in body["errors"][0]["msg"]
    not_ours = api.client.get("/v1/events", params={"cursor": "zzz"}, headers=api.submitter)
    assert_invalid(not_ours, "query", "cursor")
    assert_problem(api.client.get("/v1/events", headers=api.coordinator), 403, "forbidden")


def test_each_page_of_the_list_is_audited_with_its_people(api: Api) -> None:
    api.batch([event(event_id=f"a-{n}", person={"nomis": nomis(n)}) for n in range(1, 3)])
    _listed(api, type="prison.released")
    row = trail(api, what="READ_EVENTS")[0]
    assert row["details"]["filters"] == {"type": "prison.released"}
    assert row["details"]["rows"] == 2 and len(row["details"]["person_ids"]) == 2


def _dry(api: Api, body: dict[str, Any]) -> Any:
    return api.client.post(
        "/v1/events", params={"dry_run": "true"}, json=body, headers=api.submitter
    )


def test_a_dry_run_answers_as_a_post_would_and_stores_nothing(api: Api) -> None:
    new = _dry(api, event(event_id="d-1"))
    assert new.status_code == 200, new.text
    assert new.json() == {
        "event_id": "d-1",
        "status": "accepted",
        "person_id": None,
        "dry_run": True,
    }
    assert _listed(api)["items"] == []
    assert api.person("nomis", nomis()).status_code == 404
    stored = api.post(event(event_id="d-1", person={"nomis": nomis(), "crn": crn()}))
    person_id = stored.json()["person_id"]
    # An event naming the stored person by another identifier resolves to them.
    again = _dry(api, event(event_id="d-2", person={"crn": crn()}))
    assert again.json() == {
        "event_id": "d-2",
        "status": "accepted",
        "person_id": person_id,
        "dry_run": True,
    }
    duplicate = _dry(api, event(event_id="d-1", person={"nomis": nomis(), "crn": crn()}))
    assert duplicate.json()["status"] == "duplicate"
    assert_problem(_dry(api, event(event_id="d-1", prison="LPI")), 409, "event-id-conflict")
    assert_invalid(_dry(api, event(event_id="d-3", release_type="nope")), "data", "release_type")
    conflict = event(event_id="d-4", person={"nomis": nomis(), "crn": crn(2)})
    assert_problem(_dry(api, conflict), 409, "identity-conflict")
    assert [i["event_id"] for i in _listed(api)["items"]] == ["d-1"]
    assert trail(api, what="POST_EVENTS")[0]["details"]["outcome"] == "dry-run"


def test_a_dry_run_batch_decides_every_item_and_stores_none(api: Api) -> None:
    events = [
        event(event_id="b-1", person={"nomis": nomis(1)}),
        event(event_id="b-2", person={"nomis": nomis(1)}),
        event(event_id="b-3", release_type="nope"),
    ]
    path = "/v1/events/batch"
    answer = api.client.post(
        path, params={"dry_run": "true"}, json={"events": events}, headers=api.submitter
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"], body["stored"], body["dry_run"]) == (
        2,
        1,
        False,
        True,
    )
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "rejected"]
    atomic = api.client.post(
        path,
        params={"dry_run": "true"},
        json={"events": events, "atomic": True},
        headers=api.submitter,
    )
    assert_problem(atomic, 422, "batch-rejected")
    assert [r["status"] for r in atomic.json()["results"]] == ["rejected"] * 3
    assert _listed(api)["items"] == []
    assert api.batch(events[:2]).json()["accepted"] == 2
