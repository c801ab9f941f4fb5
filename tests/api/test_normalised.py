"""Nothing quietly wrong (CONTRACT §3.1, §5, 2026-12-07): unknown query parameters and cursors
used with other filters are refused; identifiers and places are normalised once, the same way
for events, filters, scopes and lookups; a malformed identifier in a lookup is 422."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api, bearer
from tests.support.envelopes import assert_invalid, assert_problem, event, nomis

PNC_LONG = "2012/0052834K"


def _accepted(api: Api, *events: dict[str, Any]) -> None:
    answer = api.batch(list(events))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(events), answer.text


def _in_cohort(person: dict[str, str], n: int, **release: Any) -> list[dict[str, Any]]:
    """A person in treatment released on 2026-03-02, with these release fields."""
    return [
        event("prison.treatment.started", f"t-{n}", person=person, occurred_on="2026-01-15"),
        event("prison.released", f"r-{n}", person=person, **release),
    ]


# -- unknown query parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "params", "unknown", "a_known_one"),
    [
        ("GET", "/v1/releases", {"flags": "no_ost"}, "flags", "flag"),
        ("GET", "/v1/releases", {"sort": "released_on"}, "sort", "cursor"),
        ("GET", "/v1/metrics/continuity", {"prison": "MDI"}, "prison", "group_by"),
        ("GET", "/v1/people/nomis/A1234BC", {"asof": "2026-03-02"}, "asof", "as_of"),
        ("GET", "/v1/people/nomis/A1234BC/timeline", {"x": "1"}, "x", "as_of"),
        ("GET", "/v1/changes", {"type": "record.created"}, "type", "types"),
        ("GET", "/v1/audit", {"person": "p"}, "person", "person_id"),
        ("GET", "/v1/keys", {"org": "X"}, "org", None),
        ("POST", "/v1/events", {"dryrun": "true"}, "dryrun", "dry_run"),
        ("POST", "/v1/events/batch", {"atomic": "true"}, "atomic", "dry_run"),
    ],
)
def test_a_query_parameter_the_route_does_not_take_is_refused_naming_it(
    api: Api, method: str, path: str, params: dict[str, str], unknown: str, a_known_one: str | None
) -> None:
    keys = {
        "/v1/audit": api.admin,
        "/v1/keys": api.admin,
        "/v1/events": api.submitter,
        "/v1/events/batch": api.submitter,
        "/v1/changes": api.probation,
        "/v1/people/nomis/A1234BC": api.probation,
        "/v1/people/nomis/A1234BC/timeline": api.probation,
    }
    headers = keys.get(path, api.coordinator)
    body = {"events": [event()]} if path.endswith("batch") else event()
    if method == "GET":
        answer = api.client.get(path, params=params, headers=headers)
    else:
        answer = api.client.post(path, params=params, json=body, headers=headers)
    problem = assert_invalid(answer, "query", unknown)
    assert repr(unknown) in problem["detail"]
    if a_known_one is not None:
        assert a_known_one in problem["detail"].split("takes ", 1)[1].split(", ")
    else:
        assert "takes no query parameters" in problem["detail"]
    if method == "POST":
        # Refused before anything is stored.
        assert api.person("nomis", nomis()).status_code == 404


def test_known_parameters_still_work_and_a_caller_without_a_key_is_told_so_first(
    api: Api,
) -> None:
    assert api.releases(stage="awaiting_pickup", flag="no_ost", limit=5).status_code == 200
    assert api.metrics(group_by="prison").status_code == 200
    answer = api.client.get("/v1/releases", params={"flags": "no_ost"})
    assert_problem(answer, 401, "unauthorized")


# -- cursors carry their filters ------------------------------------------------------------


def _three_awaiting(api: Api) -> None:
    events = []
    for n in range(1, 4):
        events += _in_cohort({"nomis": nomis(n)}, n, occurred_on=f"2026-03-0{n}")
    _accepted(api, *events)


def test_a_cursor_continues_its_own_list_and_refuses_other_filters(api: Api) -> None:
    _three_awaiting(api)
    first = api.releases(stage="awaiting_pickup", as_of="2026-03-10", limit=1).json()
    cursor = first["next_cursor"]
    assert cursor is not None
    # Alone, the cursor continues the filtered list as of its date.
    alone = api.releases(cursor=cursor, limit=1).json()
    assert [r["stage"] for r in alone["items"]] == ["awaiting_pickup"]
    assert alone["items"][0]["as_of"] == "2026-03-10"
    assert alone["items"][0]["released_on"] == "2026-03-02"
    # With the same filters, the same page.
    same = api.releases(cursor=cursor, stage="awaiting_pickup", as_of="2026-03-10", limit=1)
    assert same.json()["items"] == alone["items"]
    for other in ({"stage": "not_picked_up"}, {"prison": "LPI"}, {"as_of": "2026-03-11"}):
        answer = api.releases(cursor=cursor, limit=1, **other)
        problem = assert_problem(answer, 422, "cursor-mismatch")
        assert any(error["loc"] == ["query", next(iter(other))] for error in problem["errors"])


def test_an_audit_cursor_refuses_other_filters(api: Api) -> None:
    for _ in range(3):
        api.releases()
    first = api.client.get(
        "/v1/audit", params={"what": "READ_RELEASES", "limit": 1}, headers=api.admin
    )
    cursor = first.json()["next_cursor"]
    answer = api.client.get(
        "/v1/audit", params={"what": "READ_METRICS", "cursor": cursor}, headers=api.admin
    )
    assert_problem(answer, 422, "cursor-mismatch")
    alone = api.client.get("/v1/audit", params={"cursor": cursor, "limit": 1}, headers=api.admin)
    assert [item["what"] for item in alone.json()["items"]] == ["READ_RELEASES"]


# -- PNC long form ----------------------------------------------------------------------------


def test_a_pnc_in_short_and_long_forms_is_one_person_found_by_either(api: Api) -> None:
    _accepted(
        api,
        event("prison.released", "short", person={"pnc": "12/52834K"}),
        event("naloxone.issued", "long", person={"pnc": PNC_LONG}),
        event("naloxone.issued", "padless", person={"pnc": "2012/52834k"}),
    )
    for written in ("12/52834K", PNC_LONG, "2012/52834K", "12%2F52834K"):
        answer = api.person("pnc", written)
        assert answer.status_code == 200, (written, answer.text)
        assert answer.json()["identifiers"] == {"pnc": PNC_LONG}
    timeline = api.client.get(f"/v1/people/pnc/{PNC_LONG}/timeline", headers=api.probation)
    assert len(timeline.json()["events"]) == 3
    # Posting the first again, as it was written, is a duplicate.
    again = api.post(event("prison.released", "short", person={"pnc": "12/52834K"}))
    assert again.json()["status"] == "duplicate"


@pytest.mark.parametrize(
    ("scheme", "value"),
    [("pnc", "12/52834L"), ("pnc", "2012-0052834K"), ("nhs", "9434765918"), ("nomis", "A12BC")],
)
def test_a_malformed_identifier_in_a_lookup_is_422_not_404(
    api: Api, scheme: str, value: str
) -> None:
    for path in (f"/v1/people/{scheme}/{value}", f"/v1/people/{scheme}/{value}/timeline"):
        problem = assert_invalid(api.client.get(path, headers=api.probation), "path", "value")
        assert value not in problem["detail"]
    assert api.person("nomis", nomis(9)).status_code == 404


# -- places -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("local_authority", "County Durham"),
        ("local_authority", "E0600004"),
        ("probation_region", "Narnia"),
        ("prison", "MDIX"),
    ],
)
def test_a_place_not_in_its_contract_form_is_refused(api: Api, field: str, value: str) -> None:
    given: dict[str, Any] = {field: value}
    answer = api.post(event("prison.released", **given))
    assert_invalid(answer, "data", field)
    assert api.person("nomis", nomis()).status_code == 404
    assert_invalid(api.releases(**{field: value}), "query", field)


def test_places_are_stored_and_filtered_in_one_spelling(api: Api) -> None:
    _accepted(
        api,
        *_in_cohort(
            {"nomis": nomis(1)},
            1,
            prison="mdi",
            local_authority="e06000047",
            probation_region="north east",
        ),
        *_in_cohort({"nomis": nomis(2)}, 2, prison="MDI", probation_region="NORTH-EAST"),
        *_in_cohort({"nomis": nomis(3)}, 3, prison="LPI", probation_region="Kent Surrey & Sussex"),
    )
    [record] = api.person("nomis", nomis(1)).json()["releases"]
    assert (record["prison"], record["local_authority"], record["probation_region"]) == (
        "MDI",
        "E06000047",
        "North East",
    )
    for written in ("North East", "north east", "northeast", " NORTH EAST "):
        items = api.releases(probation_region=written, as_of="2026-03-10").json()["items"]
        assert sorted(r["identifiers"]["nomis"] for r in items) == [nomis(1), nomis(2)]
    kent = api.releases(probation_region="kent, surrey and sussex").json()["items"]
    assert [r["probation_region"] for r in kent] == ["Kent, Surrey and Sussex"]
    assert len(api.releases(prison="mdi").json()["items"]) == 2
    assert len(api.releases(local_authority="e06000047").json()["items"]) == 1
    rows = api.metrics(group_by="probation_region", as_of="2026-03-10").json()["rows"]
    assert {row["group"]: row["released_in_treatment"] for row in rows} == {
        "Kent, Surrey and Sussex": 1,
        "North East": 2,
    }


def test_a_key_scope_is_normalised_and_a_name_for_a_code_refused(api: Api) -> None:
    _accepted(api, *_in_cohort({"nomis": nomis(1)}, 1, probation_region="North East"))
    made = api.client.post(
        "/v1/keys",
        json={
            "org": "PROBATION-NE",
            "roles": ["probation"],
            "scope": {"probation_regions": ["north east"], "prisons": ["mdi"]},
        },
        headers=api.admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["scope"] == {"probation_regions": ["North East"], "prisons": ["MDI"]}
    seen = api.client.get(f"/v1/people/nomis/{nomis(1)}", headers=bearer(made.json()["secret"]))
    assert seen.status_code == 200
    refused = api.client.post(
        "/v1/keys",
        json={"org": "X", "roles": ["probation"], "scope": {"local_authorities": ["Durham"]}},
        headers=api.admin,
    )
    assert_invalid(refused, "scope", "local_authorities")


# -- handover view ----------------------------------------------------------------------------


def test_the_handover_view_says_who_picked_up_and_the_days_left(api: Api) -> None:
    waiting, picked = {"nomis": nomis(1)}, {"nomis": nomis(2)}
    _accepted(
        api,
        *_in_cohort(waiting, 1),
        *_in_cohort(picked, 2),
        event(
            "community.treatment.started",
            "s-2",
            person=picked,
            occurred_on="2026-03-05",
            provider="PROVIDER-DURHAM",
        ),
    )
    [record] = api.person("nomis", waiting["nomis"], as_of="2026-03-10").json()["releases"]
    assert (record["stage"], record["pickup_days_left"], record["picked_up_by"]) == (
        "awaiting_pickup",
        13,
        None,
    )
    [last_day] = api.person("nomis", waiting["nomis"], as_of="2026-03-23").json()["releases"]
    assert last_day["pickup_days_left"] == 0
    [closed] = api.person("nomis", waiting["nomis"], as_of="2026-03-24").json()["releases"]
    assert (closed["stage"], closed["pickup_days_left"]) == ("not_picked_up", None)
    [record] = api.person("nomis", picked["nomis"], as_of="2026-03-10").json()["releases"]
    assert (record["stage"], record["picked_up_by"], record["pickup_days_left"]) == (
        "in_treatment",
        "PROVIDER-DURHAM",
        None,
    )
    [before] = api.person("nomis", picked["nomis"], as_of="2026-03-04").json()["releases"]
    assert (before["picked_up_by"], before["pickup_days_left"]) == (None, 19)
