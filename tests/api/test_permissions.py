"""What a key may write, and whose keys an admin may make (CONTRACT §2.1)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import Api, bearer, key_body
from tests.support.envelopes import assert_invalid, assert_problem, event, nomis

COMMUNITY = ["community.referral.received", "community.treatment.started"]
NOT_ALLOWED = "event-type-not-allowed"


def made(api: Api, body: dict[str, Any], admin: dict[str, str] | None = None) -> dict[str, Any]:
    answer = api.client.post("/v1/keys", json=body, headers=admin or api.admin)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def community_key(api: Api, org: str = "PROVIDER-WIGAN") -> dict[str, str]:
    return bearer(made(api, key_body(org, "submitter", event_types=COMMUNITY))["secret"])


def test_a_community_providers_key_cannot_post_a_prison_release(api: Api) -> None:
    prison = api.key("HMP-MDI-HC", "submitter")
    assert api.post(event(prison="MDI", release_type="conditional_release"), prison).is_success
    provider = community_key(api)
    override = event(event_id="wigan-1", prison="LPI", release_type="hdc")
    assert_problem(api.post(override, provider), 403, NOT_ALLOWED)
    record = api.person("nomis", nomis()).json()["releases"][0]
    assert (record["prison"], record["release_type"]) == ("MDI", "conditional_release")
    read_back = api.client.get("/v1/events/wigan-1", headers=provider)
    assert_problem(read_back, 404, "not-found")


def test_a_key_posts_the_types_it_carries(api: Api) -> None:
    provider = community_key(api)
    referral = event("community.referral.received", "ref-1")
    assert api.post(referral, provider).status_code == 201


def test_a_batch_refuses_each_item_of_a_type_the_key_may_not_post(api: Api) -> None:
    provider = community_key(api)
    items = [event("community.referral.received", "ref-1"), event(event_id="rel-1")]
    answer = api.batch(items, headers=provider)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["problem"]["status"] == 403
    assert results[1]["problem"]["type"].endswith(f"/{NOT_ALLOWED}")


def test_an_atomic_batch_with_a_type_the_key_may_not_post_stores_nothing(api: Api) -> None:
    provider = community_key(api)
    items = [event("community.referral.received", "ref-1"), event(event_id="rel-1")]
    answer = api.batch(items, atomic=True, headers=provider)
    assert_problem(answer, 422, "batch-rejected")
    assert answer.json()["results"][1]["problem"]["type"].endswith(f"/{NOT_ALLOWED}")
    assert api.person("nomis", nomis()).status_code == 404


def test_correcting_or_retracting_a_type_the_key_may_not_post_is_refused(api: Api) -> None:
    # Two keys of one organisation: one posts releases, the other only community events.
    everything = api.key("PROVIDER-WIGAN", "submitter")
    assert api.post(event(event_id="rel-1"), everything).status_code == 201
    provider = community_key(api)
    correction = event(event_id="rel-2", corrects="rel-1", release_type="hdc")
    assert_problem(api.post(correction, provider), 403, NOT_ALLOWED)
    retraction = api.client.post(
        "/v1/events/rel-1/retraction", json={"reason": "not ours"}, headers=provider
    )
    assert_problem(retraction, 403, NOT_ALLOWED)
    record = api.person("nomis", nomis()).json()["releases"][0]
    assert record["release_type"] == "conditional_release"
    assert api.client.get("/v1/events/rel-1", headers=everything).json()["retracted"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"org": "P", "roles": ["submitter"]}, "event_types"),
        ({"org": "P", "roles": ["submitter"], "event_types": []}, "event_types"),
        ({"org": "P", "roles": ["submitter"], "event_types": ["prison.escaped"]}, "event_types"),
        ({"org": "P", "roles": ["probation"], "event_types": COMMUNITY}, "event_types"),
    ],
    ids=["missing", "empty", "unknown", "not-a-submitter"],
)
def test_a_key_is_refused_without_sound_event_types(
    api: Api, body: dict[str, Any], field: str
) -> None:
    assert_invalid(api.client.post("/v1/keys", json=body, headers=api.admin), field)


def test_admins_see_and_replace_a_keys_event_types(api: Api) -> None:
    created = made(api, key_body("PROVIDER-WIGAN", "submitter", event_types=COMMUNITY[::-1]))
    assert created["event_types"] == COMMUNITY
    listed = api.client.get("/v1/keys", headers=api.admin).json()
    shown = {key["key_id"]: key["event_types"] for key in listed}
    assert shown[created["key_id"]] == COMMUNITY
    headers = bearer(created["secret"])
    referral = event("community.referral.received", "ref-1")
    path = f"/v1/keys/{created['key_id']}/event_types"
    narrowed = api.client.put(path, json=["person.died"], headers=api.admin)
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["event_types"] == ["person.died"]
    assert_problem(api.post(referral, headers), 403, NOT_ALLOWED)
    widened = api.client.put(path, json=COMMUNITY, headers=api.admin)
    assert widened.status_code == 200, widened.text
    assert api.post(referral, headers).status_code == 201


def test_replacing_event_types_is_refused_when_unsound(api: Api) -> None:
    reader = made(api, key_body("PROBATION-NW", "probation"))
    assert reader["event_types"] is None
    not_submitter = f"/v1/keys/{reader['key_id']}/event_types"
    assert_invalid(api.client.put(not_submitter, json=COMMUNITY, headers=api.admin))
    submitter = made(api, key_body("PROVIDER-WIGAN", "submitter"))
    path = f"/v1/keys/{submitter['key_id']}/event_types"
    assert_invalid(api.client.put(path, json=[], headers=api.admin))
    assert_invalid(api.client.put(path, json=["prison.escaped"], headers=api.admin))
    unknown = api.client.put("/v1/keys/nope/event_types", json=COMMUNITY, headers=api.admin)
    assert_problem(unknown, 404, "not-found")
    assert_problem(api.client.put(path, json=COMMUNITY, headers=api.submitter), 403)


# Scoped admins (finding 4 of issue 20).

MDI = {"prisons": ["MDI"]}


@pytest.fixture
def mdi_admin(api: Api) -> dict[str, str]:
    return bearer(made(api, key_body("ADMIN-MDI", "admin", scope=MDI))["secret"])


@pytest.mark.parametrize(
    "scope",
    [None, {"prisons": ["LPI"]}, {"prisons": ["MDI", "LPI"]}, {"probation_regions": ["London"]}],
    ids=["unscoped", "elsewhere", "wider", "another-dimension"],
)
def test_a_scoped_admin_cannot_make_a_key_beyond_its_scope(
    api: Api, mdi_admin: dict[str, str], scope: dict[str, Any] | None
) -> None:
    body = key_body("ADMIN-X", "admin", scope=scope)
    assert_problem(api.client.post("/v1/keys", json=body, headers=mdi_admin), 403, "forbidden")
    assert len(api.client.get("/v1/keys", headers=api.admin).json()) == 2


def test_a_scoped_admin_makes_keys_within_its_scope(api: Api, mdi_admin: dict[str, str]) -> None:
    narrower = {"prisons": ["MDI"], "probation_regions": ["North West"]}
    for scope in (MDI, narrower):
        made(api, key_body("COORD-MDI", "coordinator", scope=scope), admin=mdi_admin)


def test_an_unscoped_admin_made_by_a_scoped_one_cannot_read_outside(
    api: Api, mdi_admin: dict[str, str]
) -> None:
    # The finding: an MDI admin made an unscoped admin, which exported a person outside MDI.
    api.post(event(prison="LPI"))
    body = key_body("ADMIN-X", "admin", "coordinator")
    assert_problem(api.client.post("/v1/keys", json=body, headers=mdi_admin), 403)
    export = api.client.get(f"/v1/people/nomis/{nomis()}/export", headers=mdi_admin)
    assert export.status_code in (403, 404), export.text


def test_a_scoped_admin_cannot_widen_a_key(api: Api, mdi_admin: dict[str, str]) -> None:
    key = made(api, key_body("COORD-MDI", "coordinator", scope=MDI), admin=mdi_admin)
    path = f"/v1/keys/{key['key_id']}/scope"
    sent = {**mdi_admin, "Content-Type": "application/json"}
    for wider in (None, {"prisons": ["MDI", "LPI"]}):
        answer = api.client.put(path, content=json.dumps(wider), headers=sent)
        assert_problem(answer, 403, "forbidden")
    shown = {k["key_id"]: k["scope"] for k in api.client.get("/v1/keys", headers=api.admin).json()}
    assert shown[key["key_id"]] == MDI


def test_a_scoped_admin_sees_and_manages_only_keys_within_its_scope(
    api: Api, mdi_admin: dict[str, str]
) -> None:
    inside = made(api, key_body("COORD-MDI", "coordinator", scope=MDI))
    outside = made(api, key_body("PROVIDER-WIGAN", "submitter"))
    listed = api.client.get("/v1/keys", headers=mdi_admin).json()
    assert inside["key_id"] in {key["key_id"] for key in listed}
    assert all(key["scope"] == MDI for key in listed), listed
    target = outside["key_id"]
    refusals = [
        api.client.delete(f"/v1/keys/{target}", headers=mdi_admin),
        api.client.put(f"/v1/keys/{target}/scope", json=MDI, headers=mdi_admin),
        api.client.put(f"/v1/keys/{target}/event_types", json=COMMUNITY, headers=mdi_admin),
    ]
    for refused in refusals:
        assert_problem(refused, 404, "not-found")
    assert api.post(event(), bearer(outside["secret"])).status_code == 201
    assert api.client.delete(f"/v1/keys/{inside['key_id']}", headers=mdi_admin).status_code == 204
