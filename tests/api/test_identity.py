"""Identity follows the events (CONTRACT §3.1, added 2026-12-07): one identifier of each scheme
per person, an identifier held only while a counting event carries it, `person.identified`, and
refused identity conflicts recorded and paid for (docs/identity.md)."""

from __future__ import annotations

from typing import Any

from httpx import Response

from tests.support.api import Api, running
from tests.support.envelopes import assert_problem, crn, event, nomis

A, B = {"nomis": nomis(1)}, {"nomis": nomis(2)}


def accepted(answer: Response) -> str:
    assert answer.status_code == 201, answer.text
    person_id: str = answer.json()["person_id"]
    return person_id


def person(api: Api, scheme: str, value: str) -> dict[str, Any]:
    answer = api.person(scheme, value, as_of="2026-06-30")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def unknown(api: Api, scheme: str, value: str) -> None:
    assert_problem(api.person(scheme, value), 404, "not-found")


def stored(api: Api, event_id: str) -> Response:
    answer: Response = api.client.get(f"/v1/events/{event_id}", headers=api.submitter)
    return answer


def retract(api: Api, event_id: str, headers: dict[str, str] | None = None) -> None:
    answer = api.client.post(
        f"/v1/events/{event_id}/retraction",
        json={"reason": "wrong person"},
        headers=headers or api.submitter,
    )
    assert answer.status_code == 200, answer.text


def audit_of(api: Api, person_id: str) -> list[dict[str, Any]]:
    answer = api.client.get("/v1/audit", params={"person_id": person_id}, headers=api.admin)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def export_of(api: Api, scheme: str, value: str) -> dict[str, Any]:
    answer = api.client.get(f"/v1/people/{scheme}/{value}/export", headers=api.admin)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def referral(event_id: str, who: dict[str, str], on: str = "2026-03-03") -> dict[str, Any]:
    return event("community.referral.received", event_id, person=who, occurred_on=on)


# --- one identifier of each scheme -------------------------------------------------------


def test_a_second_crn_for_a_person_is_an_identity_conflict_and_stores_nothing(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1", person={**A, "crn": crn(1)})))
    answer = api.post(referral("ref-1", {**A, "crn": crn(2)}), api.other_submitter)
    assert_problem(answer, 409, "identity-conflict")
    assert_problem(stored(api, "ref-1"), 404, "not-found")
    unknown(api, "crn", crn(2))
    assert person(api, "nomis", nomis(1))["identifiers"] == {**A, "crn": crn(1)}


def test_a_second_value_is_refused_in_a_batch_item_and_in_an_atomic_batch(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1", person={**A, "crn": crn(1)})))
    second = referral("ref-2", {**A, "crn": crn(2)})
    plain = api.batch([referral("ref-1", A), second]).json()
    assert [r["status"] for r in plain["results"]] == ["accepted", "rejected"]
    assert plain["results"][1]["problem"]["type"].endswith("/identity-conflict")
    atomic = api.batch([referral("ref-3", A), referral("ref-4", {**A, "crn": crn(3)})], True)
    body = assert_problem(atomic, 422, "batch-rejected")
    problems = [r.get("problem", {}).get("type", "") for r in body["results"]]
    assert problems[0].endswith("/batch-not-stored") and problems[1].endswith("/identity-conflict")
    for event_id in ("ref-2", "ref-3", "ref-4"):
        assert_problem(stored(api, event_id), 404, "not-found")
    assert person(api, "nomis", nomis(1))["identifiers"] == {**A, "crn": crn(1)}


def test_a_correction_may_not_give_its_person_a_second_value(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1", person={**A, "crn": crn(1)})))
    accepted(api.post(referral("ref-1", A)))
    fix = {**referral("ref-1b", {**A, "crn": crn(2)}), "corrects": "ref-1"}
    assert_problem(api.post(fix), 409, "identity-conflict")
    assert stored(api, "ref-1").json()["superseded_by"] is None


def test_a_correction_replaces_a_wrong_crn_that_only_its_event_carried(api: Api) -> None:
    first = accepted(api.post(event(event_id="rel-1", person=A)))
    accepted(api.post(referral("ref-1", {**A, "crn": crn(1)})))
    fix = {**referral("ref-1b", {**A, "crn": crn(2)}), "corrects": "ref-1"}
    assert accepted(api.post(fix)) == first
    assert person(api, "nomis", nomis(1))["identifiers"] == {**A, "crn": crn(2)}
    unknown(api, "crn", crn(1))


# --- identifiers follow the counting events ----------------------------------------------


def test_a_retracted_event_takes_the_crn_it_attached_with_it(api: Api) -> None:
    # Finding: a provider attached a new CRN to someone else's person; retracting left it.
    prison = api.key("HMP-MDI-HC", "submitter")
    owner = accepted(api.post(event(event_id="rel-1", person=A), prison))
    hijack = referral("ref-1", {**A, "crn": crn(9)})
    assert accepted(api.post(hijack, api.other_submitter)) == owner
    assert person(api, "crn", crn(9))["person_id"] == owner
    retract(api, "ref-1", api.other_submitter)
    unknown(api, "crn", crn(9))
    assert person(api, "nomis", nomis(1))["identifiers"] == A
    # Released: a later event may give it to anyone.
    other = accepted(api.post(event(event_id="rel-2", person={**B, "crn": crn(9)})))
    assert other != owner
    assert person(api, "crn", crn(9))["person_id"] == other


def test_a_person_left_with_nothing_that_counts_disappears_from_every_read(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1", person={**A, "crn": crn(1)})))
    lists = api.releases(as_of="2026-06-30").json()["items"]
    assert len(lists) == 1
    retract(api, "rel-1")
    unknown(api, "nomis", nomis(1))
    unknown(api, "crn", crn(1))
    assert api.releases(as_of="2026-06-30").json()["items"] == []
    metrics = api.metrics(released_from="2026-01-01", released_to="2026-12-31").json()
    assert metrics["total"]["released_in_treatment"] == 0
    timeline = api.client.get(f"/v1/people/nomis/{nomis(1)}/timeline", headers=api.probation)
    assert_problem(timeline, 404, "not-found")


def test_an_identifier_stays_while_another_counting_event_carries_it(api: Api) -> None:
    first = accepted(api.post(event(event_id="rel-1", person={**A, "crn": crn(1)})))
    accepted(api.post(referral("ref-1", {**A, "crn": crn(1)})))
    retract(api, "ref-1")
    assert person(api, "crn", crn(1))["person_id"] == first


def test_a_person_whose_events_no_longer_share_identifiers_comes_apart(api: Api) -> None:
    first = accepted(api.post(event(event_id="rel-1", person=A)))
    assert accepted(api.post(referral("link", {**A, "crn": crn(1)}))) == first
    start = event("community.treatment.started", "start-1", person={"crn": crn(1)})
    start["occurred_on"] = "2026-03-04"
    assert accepted(api.post(start)) == first
    retract(api, "link")
    by_nomis, by_crn = person(api, "nomis", nomis(1)), person(api, "crn", crn(1))
    assert by_nomis["person_id"] == first and by_nomis["identifiers"] == A
    assert by_crn["person_id"] != first and by_crn["identifiers"] == {"crn": crn(1)}
    # The release stays with the NOMIS number; the start no longer picks it up.
    assert [r["picked_up_on"] for r in by_nomis["releases"]] == [None]
    assert by_crn["releases"] == []
    events = api.client.get(f"/v1/people/crn/{crn(1)}/timeline", headers=api.probation).json()
    assert [e["event_id"] for e in events["events"]] == ["start-1"]


def test_a_correction_that_drops_the_link_splits_the_person_too(api: Api) -> None:
    first = accepted(api.post(event(event_id="rel-1", person=A)))
    accepted(api.post(referral("link", {**A, "crn": crn(1)})))
    accepted(api.post(referral("crn-only", {"crn": crn(1)}, "2026-03-05")))
    answer = api.batch([{**referral("link-b", A), "corrects": "link"}]).json()
    assert answer["results"][0]["person_id"] == first
    assert person(api, "crn", crn(1))["person_id"] != first
    assert person(api, "nomis", nomis(1))["identifiers"] == A


# --- person.identified -------------------------------------------------------------------


def test_person_identified_links_identifiers_and_changes_no_record(api: Api) -> None:
    owner = accepted(api.post(event(event_id="rel-1", person=A)))
    before = person(api, "nomis", nomis(1))["releases"]
    link = event("person.identified", "id-1", person={**A, "crn": crn(4)})
    assert link["data"] == {}
    assert accepted(api.post(link, api.other_submitter)) == owner
    after = person(api, "crn", crn(4))
    assert after["identifiers"] == {**A, "crn": crn(4)}
    assert [{**r, "identifiers": A} for r in after["releases"]] == before
    # It counts, so it holds the identifiers it carries; retracted, it lets them go.
    retract(api, "id-1", api.other_submitter)
    unknown(api, "crn", crn(4))


def test_person_identified_naming_two_people_is_an_identity_conflict(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1", person=A)))
    accepted(api.post(event(event_id="rel-2", person=B)))
    link = event("person.identified", "id-1", person={**A, "crn": crn(1)})
    accepted(api.post(link))
    both = event("person.identified", "id-2", person={"crn": crn(1), **B})
    assert_problem(api.post(both), 409, "identity-conflict")


def test_person_identified_refuses_any_data(api: Api) -> None:
    link = event("person.identified", "id-1", person=A)
    link["data"] = {"reason": "matched"}
    assert_problem(api.post(link), 422, "validation-error")


# --- probing is recorded and paid for ----------------------------------------------------


def _refused_posts(api: Api, person_id: str) -> list[dict[str, Any]]:
    return [
        item
        for item in audit_of(api, person_id)
        if item["what"] == "POST_EVENTS" and item["details"]["outcome"] == "refused"
    ]


def test_a_refused_identity_conflict_is_audited_against_the_people_it_names(api: Api) -> None:
    p = accepted(api.post(event(event_id="rel-1", person=A)))
    q = accepted(api.post(event(event_id="rel-2", person={**B, "crn": crn(2)})))
    probe = referral("probe", {**A, "crn": crn(2)})
    assert_problem(api.post(probe, api.other_submitter), 409, "identity-conflict")
    for who, value in ((p, nomis(1)), (q, nomis(2))):
        rows = _refused_posts(api, who)
        assert len(rows) == 1 and rows[0]["details"]["org"] == "PROVIDER-B"
        assert rows[0]["details"]["refused"][0]["problem"] == "identity-conflict"
        exported = export_of(api, "nomis", value)["audit"]
        assert any(
            row["what"] == "POST_EVENTS" and row["when"] == rows[0]["when"] for row in exported
        )


def test_an_atomic_batch_reveals_no_more_than_posting_one_by_one(api: Api) -> None:
    # Finding: an atomic batch with one real event and one invalid one answered
    # identity-conflict when the identifiers were known and batch-not-stored when not, stored
    # nothing, and left no audit line naming the person probed.
    p = accepted(api.post(event(event_id="rel-1", person=A)))
    q = accepted(api.post(event(event_id="rel-2", person={**B, "crn": crn(2)})))
    invalid = {"event_id": "junk", "type": "prison.released"}
    probes = [referral("p-1", {**A, "crn": crn(2)}), referral("p-2", A), invalid]
    atomic = assert_problem(api.batch(probes, True, api.other_submitter), 422, "batch-rejected")
    alone = api.batch(probes, False, api.other_submitter).json()
    slugs = [r.get("problem", {}).get("type", "").rsplit("/", 1)[-1] for r in atomic["results"]]
    assert slugs == ["identity-conflict", "batch-not-stored", "validation-error"]
    assert [r["status"] for r in alone["results"]] == ["rejected", "accepted", "rejected"]
    assert alone["results"][0]["problem"] == atomic["results"][0]["problem"]
    # Both people are named by the refused atomic batch's audit line, as by the stored one's.
    first = [row for row in _refused_posts(api, p) if row["details"]["accepted"] == []]
    assert len(first) == 1
    assert [row["when"] for row in _refused_posts(api, q)] == [first[0]["when"]]


def test_identity_conflicts_count_heavily_against_the_rate_limit(database_url: str) -> None:
    # 30 requests a minute: a conflict costs 60 requests, so one puts a key a minute in debt, far
    # more than the time these requests take could refill.
    with running(database_url, rate_limit_per_minute=30) as api:
        accepted(api.post(event(event_id="rel-1", person=A)))
        accepted(api.post(event(event_id="rel-2", person={**B, "crn": crn(2)})))
        probe = referral("probe", {**A, "crn": crn(2)})
        alone, batched = api.key("PROVIDER-C", "submitter"), api.other_submitter
        assert_problem(api.post(probe, alone), 409, "identity-conflict")
        refused = api.post(referral("ok", A), alone)
        assert_problem(refused, 429, "rate-limited")
        assert int(refused.headers["Retry-After"]) > 30
        answer = api.batch([probe, {**probe, "event_id": "probe-2"}], False, batched)
        assert answer.status_code == 200 and answer.json()["rejected"] == 2, answer.text
        refused = api.post(referral("ok", A), batched)
        assert_problem(refused, 429, "rate-limited")
        assert int(refused.headers["Retry-After"]) > 120
        # Other keys are not affected.
        accepted(api.post(referral("ok", A)))
