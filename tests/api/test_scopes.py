"""Scoped keys: a key limited to prisons, probation regions, local authorities and/or community
providers reads only the releases in its scope, and the people behind them, in every read."""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from app.db.engine import sync_url
from app.db.tables import ApiKeyRow, table
from tests.support.api import Api, bearer, running
from tests.support.envelopes import assert_invalid, assert_problem, nomis
from tests.support.scoped import (
    AS_OF,
    BOTH,
    LATER,
    LPI_ONLY,
    MDI_ONLY,
    NO_RELEASE,
    NORTH_EAST,
    admits,
    pairs,
    post_all,
    releases,
    scoped_key,
)

READER = ("probation", "coordinator")
MDI = {"prisons": ["MDI"]}


@pytest.fixture
def posted(api: Api) -> Api:
    post_all(api)
    return api


def _mdi_key(api: Api) -> dict[str, str]:
    return scoped_key(api, MDI, *READER)[1]


def _metrics(api: Api, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    query = {"as_of": AS_OF, **params}
    answer = api.client.get("/v1/metrics/continuity", params=query, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _csv_pairs(api: Api, headers: dict[str, str]) -> list[tuple[str, str]]:
    params = {"as_of": AS_OF, "format": "csv"}
    answer = api.client.get("/v1/releases", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return [(r["prison"], r["released_on"]) for r in csv.DictReader(io.StringIO(answer.text))]


def _person(api: Api, headers: dict[str, str], who: str, path: str = "", **params: str) -> Any:
    return api.client.get(f"/v1/people/nomis/{who}{path}", params=params, headers=headers)


def _group(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    row = next(row for row in metrics["rows"] if row["group"] == name)
    return {k: v for k, v in row.items() if k != "group"}


def test_a_prison_scoped_key_lists_only_that_prisons_releases(posted: Api) -> None:
    everything = releases(posted, posted.coordinator)
    mdi = releases(posted, _mdi_key(posted))
    assert mdi == [r for r in everything if r["prison"] == "MDI"]
    assert pairs(mdi) == [("MDI", "2026-03-02"), ("MDI", "2026-01-10")]
    assert len(everything) == 5


def test_filters_narrow_a_scope_and_never_widen_it(posted: Api) -> None:
    headers = _mdi_key(posted)
    assert releases(posted, headers, prison="LPI") == []
    assert pairs(releases(posted, headers, local_authority="E08000010")) == [
        ("MDI", "2026-03-02"),
        ("MDI", "2026-01-10"),
    ]


def test_a_prison_scoped_keys_csv_holds_only_that_prison(posted: Api) -> None:
    everything = _csv_pairs(posted, posted.coordinator)
    assert _csv_pairs(posted, _mdi_key(posted)) == [p for p in everything if p[0] == "MDI"]


def test_a_prison_scoped_keys_metrics_count_only_that_prison(posted: Api) -> None:
    headers = _mdi_key(posted)
    by_prison = _metrics(posted, posted.coordinator, group_by="prison")
    scoped = _metrics(posted, headers)
    assert scoped["total"] == _group(by_prison, "MDI")
    assert scoped["total"]["released_in_treatment"] == 2
    assert by_prison["total"]["released_in_treatment"] == 4
    grouped = _metrics(posted, headers, group_by="prison")
    assert [row["group"] for row in grouped["rows"]] == ["MDI"]
    by_month = _metrics(posted, headers, group_by="month")
    assert [row["group"] for row in by_month["rows"]] == ["2026-01", "2026-03"]


def test_handover_view_hides_people_with_no_release_in_scope(posted: Api) -> None:
    headers = _mdi_key(posted)
    unknown = assert_problem(_person(posted, headers, nomis(77), as_of=AS_OF), 404, "not-found")
    for who in (LPI_ONLY, NORTH_EAST, NO_RELEASE, LATER):
        assert _person(posted, posted.probation, who, as_of=AS_OF).status_code == 200
        hidden = assert_problem(_person(posted, headers, who, as_of=AS_OF), 404, "not-found")
        assert hidden == {**unknown, "detail": unknown["detail"].replace(nomis(77), who)}


def test_handover_view_lists_only_the_releases_in_scope(posted: Api) -> None:
    headers = _mdi_key(posted)
    full = _person(posted, posted.probation, BOTH, as_of=AS_OF).json()
    scoped = _person(posted, headers, BOTH, as_of=AS_OF).json()
    assert pairs(full["releases"]) == [("LPI", "2026-04-01"), ("MDI", "2026-01-10")]
    assert scoped == {**full, "releases": full["releases"][1:]}
    assert pairs(_person(posted, headers, MDI_ONLY, as_of=AS_OF).json()["releases"]) == [
        ("MDI", "2026-03-02")
    ]


def test_handover_view_scope_is_judged_as_of_the_views_date(posted: Api) -> None:
    headers = _mdi_key(posted)
    assert_problem(_person(posted, headers, LATER, as_of=AS_OF), 404, "not-found")
    later = _person(posted, headers, LATER, as_of="2026-07-20")
    assert pairs(later.json()["releases"]) == [("MDI", "2026-07-15")]
    assert_problem(_person(posted, headers, BOTH, as_of="2026-01-09"), 404, "not-found")


def test_timeline_is_shown_whole_for_a_person_whose_every_release_is_in_scope(
    posted: Api,
) -> None:
    headers = _mdi_key(posted)
    for who in (MDI_ONLY, LATER):
        full = _person(posted, posted.probation, who, "/timeline")
        assert full.status_code == 200, full.text
        assert _person(posted, headers, who, "/timeline").json() == full.json()
    assert _person(posted, headers, LATER, "/timeline", as_of=AS_OF).status_code == 200


def _shown(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [event["event_id"] for event in answer.json()["events"]]


def test_a_scoped_timeline_shows_only_the_events_bearing_on_releases_in_scope(
    posted: Api,
) -> None:
    # BOTH: MDI release 2026-01-10, LPI release 2026-04-01 (London). The MDI key sees the events
    # dated before the LPI release; the London key those after the MDI release.
    everything = _shown(_person(posted, posted.probation, BOTH, "/timeline"))
    assert len(everything) == 5
    mdi = _shown(_person(posted, _mdi_key(posted), BOTH, "/timeline"))
    assert mdi == ["both-tx1", "both-rel1", "both-tx2"]
    london = scoped_key(posted, {"probation_regions": ["London"]}, *READER)[1]
    assert _shown(_person(posted, london, BOTH, "/timeline")) == [
        "both-tx2",
        "both-rel2",
        "both-pickup",
    ]
    mdi_then = _person(posted, _mdi_key(posted), BOTH, "/timeline", as_of="2026-02-01")
    assert _shown(mdi_then) == ["both-tx1", "both-rel1"]


def test_timeline_hides_people_with_no_release_in_scope(posted: Api) -> None:
    headers = _mdi_key(posted)
    for who in (LPI_ONLY, NORTH_EAST, NO_RELEASE, nomis(77)):
        assert_problem(_person(posted, headers, who, "/timeline"), 404, "not-found")


SCOPES = [
    {"prisons": ["mdi", "HMI"]},
    {"probation_regions": ["North West"]},
    {"probation_regions": ["London", "North East"]},
    {"local_authorities": ["E08000010"]},
    {"local_authorities": ["E08000001", "E09000033"]},
    {"community_providers": ["PROVIDER-LONDON"]},
    {"prisons": ["MDI", "LPI"], "probation_regions": ["London"]},
    {"probation_regions": ["North West"], "community_providers": ["PROVIDER-BOLTON"]},
    {"prisons": ["MDI"], "probation_regions": ["London"]},
]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: "+".join(f"{k}={v}" for k, v in s.items()))
def test_each_dimension_and_their_conjunction(posted: Api, scope: dict[str, list[str]]) -> None:
    headers = scoped_key(posted, scope, *READER)[1]
    expected = [r for r in releases(posted, posted.coordinator) if admits(scope, r)]
    assert releases(posted, headers) == expected
    cohort = sum(r["in_treatment_at_release"] for r in expected)
    assert _metrics(posted, headers)["total"]["released_in_treatment"] == cohort
    for who in (MDI_ONLY, LPI_ONLY, BOTH, NORTH_EAST):
        view = _person(posted, headers, who, as_of=AS_OF)
        mine = [r for r in expected if r["identifiers"]["nomis"] == who]
        assert view.status_code == (200 if mine else 404), view.text
        if mine:
            assert sorted(pairs(view.json()["releases"])) == sorted(pairs(mine))


def test_the_and_across_dimensions_can_admit_nothing(posted: Api) -> None:
    headers = scoped_key(posted, {"prisons": ["MDI"], "probation_regions": ["London"]}, *READER)[1]
    assert releases(posted, headers) == []
    assert _metrics(posted, headers)["total"]["released_in_treatment"] == 0
    assert_problem(_person(posted, headers, BOTH, as_of=AS_OF), 404, "not-found")


def test_a_stored_scope_with_an_empty_list_admits_nothing(database_url: str) -> None:
    # The API refuses an empty list; one stored some other way still fails closed.
    with running(database_url) as api:
        post_all(api)
        key_id, headers = scoped_key(api, MDI, *READER)
        engine = create_engine(sync_url(database_url))
        try:
            with engine.begin() as conn:
                keys = table(ApiKeyRow)
                conn.execute(
                    update(keys).where(keys.c.key_id == key_id).values(scope={"prisons": []})
                )
        finally:
            engine.dispose()
        assert releases(api, headers) == []
        assert _metrics(api, headers)["total"]["released_in_treatment"] == 0
        assert_problem(_person(api, headers, MDI_ONLY, as_of=AS_OF), 404, "not-found")


def _keys(api: Api) -> dict[str, dict[str, Any]]:
    answer = api.client.get("/v1/keys", headers=api.admin)
    assert answer.status_code == 200, answer.text
    return {key["key_id"]: key for key in answer.json()}


def test_keys_show_their_scope_normalised(api: Api) -> None:
    scope = {"prisons": ["mdi", " lpi ", "MDI"], "community_providers": ["PROVIDER-B", "A"]}
    body = {"org": "COORD-NW", "roles": ["coordinator"], "scope": scope}
    created = api.client.post("/v1/keys", json=body, headers=api.admin).json()
    shown = {"prisons": ["LPI", "MDI"], "community_providers": ["A", "PROVIDER-B"]}
    assert created["scope"] == shown
    unscoped_id, _ = scoped_key(api, None, "coordinator")
    empty_id, _ = scoped_key(api, {}, "coordinator")
    nulls_id, _ = scoped_key(api, {"prisons": None, "local_authorities": None}, "coordinator")
    keys = _keys(api)
    assert keys[created["key_id"]]["scope"] == shown
    assert [keys[k]["scope"] for k in (unscoped_id, empty_id, nulls_id)] == [None, None, None]
    partly = scoped_key(api, {"prisons": ["HMI"], "local_authorities": None}, "coordinator")[0]
    assert _keys(api)[partly]["scope"] == {"prisons": ["HMI"]}


def _put_scope(api: Api, key_id: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    # Sent by hand: httpx sends no body at all for json=None, and null is a scope here.
    path = f"/v1/keys/{key_id}/scope"
    sent = {**(api.admin if headers is None else headers), "Content-Type": "application/json"}
    return api.client.put(path, content=json.dumps(body), headers=sent)


def test_changing_a_scope_takes_effect_at_once(posted: Api) -> None:
    key_id, headers = scoped_key(posted, MDI, *READER)
    assert {r["prison"] for r in releases(posted, headers)} == {"MDI"}
    changed = _put_scope(posted, key_id, {"prisons": ["lpi"]})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**_keys(posted)[key_id], "scope": {"prisons": ["LPI"]}}
    assert {r["prison"] for r in releases(posted, headers)} == {"LPI"}
    assert_problem(_person(posted, headers, MDI_ONLY, as_of=AS_OF), 404, "not-found")
    assert _person(posted, headers, LPI_ONLY, as_of=AS_OF).status_code == 200
    assert _metrics(posted, headers)["total"]["released_in_treatment"] == 2


def test_unscoping_a_key_shows_it_everything_again(posted: Api) -> None:
    key_id, headers = scoped_key(posted, MDI, *READER)
    unscoped = _put_scope(posted, key_id, None)
    assert unscoped.status_code == 200, unscoped.text
    assert unscoped.json()["scope"] is None
    assert _keys(posted)[key_id]["scope"] is None
    assert releases(posted, headers) == releases(posted, posted.coordinator)
    assert _person(posted, headers, LPI_ONLY, as_of=AS_OF).status_code == 200
    assert _put_scope(posted, key_id, {}).json()["scope"] is None


def test_a_scope_can_be_given_to_a_key_that_had_none(posted: Api) -> None:
    key_id, headers = scoped_key(posted, None, *READER)
    assert len(releases(posted, headers)) == 5
    assert _put_scope(posted, key_id, {"local_authorities": ["E09000033"]}).status_code == 200
    assert pairs(releases(posted, headers)) == [("LPI", "2026-04-01")]


BAD_SCOPES = [
    ({"prisons": []}, ("prisons",)),
    ({"community_providers": []}, ("community_providers",)),
    ({"towns": ["Wigan"]}, ("towns",)),
    ({"prisons": ["MD"]}, ("prisons", 0)),
    ({"prisons": "MDI"}, ("prisons",)),
    ({"probation_regions": [""]}, ("probation_regions", 0)),
    ({"local_authorities": [7]}, ("local_authorities", 0)),
]
BAD_IDS = ["empty-prisons", "empty-providers", "unknown", "bad-code", "not-list", "blank", "number"]


@pytest.mark.parametrize(("scope", "field"), BAD_SCOPES, ids=BAD_IDS)
def test_bad_scopes_are_refused_when_creating_a_key(
    api: Api, scope: dict[str, Any], field: tuple[Any, ...]
) -> None:
    before = _keys(api)
    body = {"org": "COORD-NW", "roles": ["coordinator"], "scope": scope}
    assert_invalid(api.client.post("/v1/keys", json=body, headers=api.admin), "scope", *field)
    assert _keys(api) == before


@pytest.mark.parametrize(("scope", "field"), BAD_SCOPES, ids=BAD_IDS)
def test_bad_scopes_are_refused_when_changing_one(
    api: Api, scope: dict[str, Any], field: tuple[Any, ...]
) -> None:
    key_id, _ = scoped_key(api, MDI, "coordinator")
    assert_invalid(_put_scope(api, key_id, scope), *field)
    assert _keys(api)[key_id]["scope"] == MDI


@pytest.mark.parametrize("body", [[], "MDI", 3, ["MDI"]], ids=["list", "string", "number", "codes"])
def test_a_scope_body_must_be_an_object_or_null(api: Api, body: Any) -> None:
    key_id, _ = scoped_key(api, MDI, "coordinator")
    assert_invalid(_put_scope(api, key_id, body))
    assert _keys(api)[key_id]["scope"] == MDI


def test_a_scope_body_must_be_json(api: Api) -> None:
    key_id, _ = scoped_key(api, MDI, "coordinator")
    path = f"/v1/keys/{key_id}/scope"
    answer = api.client.put(path, content=b"{", headers=api.admin)
    assert answer.status_code in (400, 415)
    assert_problem(answer, answer.status_code)


@pytest.mark.parametrize("role", ["submitter", "probation", "coordinator"])
def test_only_an_admin_may_change_a_scope(api: Api, role: str) -> None:
    key_id, headers = scoped_key(api, MDI, role, "probation", "coordinator")
    for caller in (getattr(api, role), headers):
        assert_problem(_put_scope(api, key_id, None, caller), 403, "forbidden")
    assert _keys(api)[key_id]["scope"] == MDI


def test_changing_a_scope_needs_a_key(api: Api) -> None:
    key_id, _ = scoped_key(api, MDI, "coordinator")
    for headers in ({"Authorization": ""}, bearer("not-a-key")):
        assert_problem(_put_scope(api, key_id, None, headers), 401, "unauthorized")
    assert _keys(api)[key_id]["scope"] == MDI


def test_changing_the_scope_of_an_unknown_or_revoked_key_is_not_found(api: Api) -> None:
    assert_problem(_put_scope(api, "nosuchkey", MDI), 404, "not-found")
    key_id, _ = scoped_key(api, None, "coordinator")
    assert api.client.delete(f"/v1/keys/{key_id}", headers=api.admin).status_code == 204
    assert_problem(_put_scope(api, key_id, MDI), 404, "not-found")


def test_a_scoped_submitter_still_posts_and_reads_its_events(api: Api) -> None:
    _, headers = scoped_key(api, {"prisons": ["LPI"]}, "submitter", org="PROVIDER-A")
    post_all(api, headers)
    assert api.client.get("/v1/events/mdi-rel", headers=headers).status_code == 200


TRIES = 200


def _seconds(api: Api, headers: dict[str, str], who: str) -> float:
    """The CPU time of this process (the app, its client and SQLite run in it) for one lookup:
    unlike the clock's, it does not grow with what the other tests on the machine do."""
    started = time.process_time()
    answer = _person(api, headers, who, "/timeline")
    took = time.process_time() - started
    assert_problem(answer, 404, "not-found")
    return took


def test_a_known_person_out_of_scope_costs_what_an_unknown_one_does(posted: Api) -> None:
    # The time of a 404 must not tell a scoped key that a person exists. Known and unknown
    # lookups alternate, so that whatever else the machine does weighs on both alike.
    headers = _mdi_key(posted)
    known: list[float] = []
    unknown: list[float] = []
    for n in range(TRIES):
        known.append(_seconds(posted, headers, LPI_ONLY))
        unknown.append(_seconds(posted, headers, nomis(1000 + n)))
    ratio = statistics.median(known) / statistics.median(unknown)

    assert 0.9 < ratio < 1.1, (statistics.median(known), statistics.median(unknown))
