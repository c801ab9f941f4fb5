"""Posting, reading and retracting events (CONTRACT §3): validation, identity, corrections."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import Response

from tests.support.api import Api
from tests.support.envelopes import (
    EXAMPLES,
    TYPES,
    assert_invalid,
    assert_problem,
    crn,
    event,
    london_today,
    nhs,
    nomis,
    pnc,
)


def get(api: Api, event_id: str, headers: dict[str, str] | None = None) -> Response:
    return api.client.get(f"/v1/events/{event_id}", headers=headers or api.submitter)


def stored(api: Api, event_id: str) -> dict[str, Any]:
    answer = get(api, event_id)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def retract(api: Api, event_id: str, headers: dict[str, str] | None = None) -> Response:
    path = f"/v1/events/{event_id}/retraction"
    return api.client.post(path, json={"reason": "sent in error"}, headers=headers or api.submitter)


def releases_of(api: Api, scheme: str = "nomis", value: str = nomis()) -> list[dict[str, Any]]:
    answer = api.person(scheme, value, as_of="2026-06-30")
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["releases"]
    return records


def gone(api: Api, scheme: str = "nomis", value: str = nomis()) -> None:
    """No counting event carries the identifier: it names nobody (CONTRACT §3.1)."""
    assert_problem(api.person(scheme, value), 404, "not-found")


def accepted(answer: Response) -> str:
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "accepted"
    person_id: str = answer.json()["person_id"]
    return person_id


# --- accepted, duplicate, conflicting -------------------------------------------------------


def test_accepted_event_answers_201_with_its_person(api: Api) -> None:
    answer = api.post(event(event_id="mdi-hc-000123"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["event_id"] == "mdi-hc-000123"
    assert body["status"] == "accepted"
    assert body["person_id"]
    assert api.person("nomis", nomis()).json()["person_id"] == body["person_id"]


def test_reading_an_event_shows_what_was_stored(api: Api) -> None:
    person_id = accepted(api.post(event(person={"nomis": nomis(), "crn": crn()})))
    body = stored(api, "ev-1")
    assert body["event_id"] == "ev-1"
    assert body["type"] == "prison.released"
    assert body["occurred_on"] == "2026-03-02"
    assert body["person"] == {"nomis": nomis(), "crn": crn()}
    assert body["data"] == EXAMPLES["prison.released"]
    assert body["person_id"] == person_id
    assert body["corrects"] is None
    assert body["superseded_by"] is None
    assert body["retracted"] is False


def test_reading_an_event_shows_when_it_was_received(api: Api) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    accepted(api.post(event()))
    after = datetime.now(UTC).replace(tzinfo=None)
    received = datetime.fromisoformat(stored(api, "ev-1")["received_at"])
    naive_utc = received.astimezone(UTC).replace(tzinfo=None) if received.tzinfo else received
    assert before - timedelta(seconds=1) <= naive_utc <= after + timedelta(seconds=1)


def test_received_at_carries_its_utc_offset(api: Api) -> None:
    accepted(api.post(event()))
    received = datetime.fromisoformat(stored(api, "ev-1")["received_at"])
    assert received.utcoffset() == timedelta(0)


def test_same_event_again_is_a_duplicate_and_changes_nothing(api: Api) -> None:
    person_id = accepted(api.post(event()))
    first = stored(api, "ev-1")
    again = api.post(event())
    assert again.status_code == 200, again.text
    assert again.json() == {"event_id": "ev-1", "status": "duplicate", "person_id": person_id}
    assert stored(api, "ev-1") == first
    assert len(releases_of(api)) == 1


def test_the_same_content_in_another_key_order_is_a_duplicate(api: Api) -> None:
    first = event(event_id="ev-1", person={"nomis": nomis(), "crn": crn()})
    accepted(api.post(first))
    reordered = {key: first[key] for key in reversed(list(first))}
    reordered["data"] = dict(reversed(list(first["data"].items())))
    reordered["person"] = {"crn": crn(), "nomis": nomis()}
    assert api.post(reordered).json()["status"] == "duplicate"


def test_the_same_event_posted_concurrently_is_stored_once(api: Api) -> None:
    headers = api.submitter
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post(event(), headers=headers), range(16)))
    assert sorted(a.status_code for a in answers) == [200] * 15 + [201]
    assert len({a.json()["person_id"] for a in answers}) == 1
    assert len(releases_of(api)) == 1


def test_events_of_one_new_person_posted_concurrently_make_one_person(api: Api) -> None:
    headers = api.submitter
    bodies = [event("naloxone.issued", f"ev-{i}") for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: api.post(body, headers=headers), bodies))
    assert [a.status_code for a in answers] == [201] * 16
    assert len({a.json()["person_id"] for a in answers}) == 1


def test_same_event_id_with_other_content_is_409_and_keeps_the_first(api: Api) -> None:
    accepted(api.post(event(release_type="hdc")))
    first = stored(api, "ev-1")
    answer = api.post(event(release_type="end_of_sentence"))
    assert_problem(answer, 409, "event-id-conflict")
    assert stored(api, "ev-1") == first
    assert [r["release_type"] for r in releases_of(api)] == ["hdc"]


def test_same_event_id_from_another_organisation_is_another_event(api: Api) -> None:
    ours = accepted(api.post(event(release_type="hdc")))
    theirs = api.post(event(release_type="pss"), headers=api.other_submitter)
    assert accepted(theirs) == ours
    assert stored(api, "ev-1")["data"]["release_type"] == "hdc"
    assert get(api, "ev-1", api.other_submitter).json()["data"]["release_type"] == "pss"


def test_another_organisations_event_cannot_be_read(api: Api) -> None:
    accepted(api.post(event(event_id="ours-1")))
    assert_problem(get(api, "ours-1", api.other_submitter), 404, "not-found")


def test_unknown_event_cannot_be_read(api: Api) -> None:
    assert_problem(get(api, "never-posted"), 404, "not-found")


@pytest.mark.parametrize(
    ("scheme", "written", "normal"),
    [
        ("nomis", " a1234 bc ", "A1234BC"),
        ("crn", "x 123456", "X123456"),
        ("nhs", "943 476 5919", "9434765919"),
        ("pnc", "2012/0052834k", "2012/0052834K"),
    ],
)
def test_identifiers_are_normalised_to_find_the_same_person(
    api: Api, scheme: str, written: str, normal: str
) -> None:
    first = accepted(api.post(event(event_id="ev-1", person={scheme: written})))
    second = accepted(api.post(event("naloxone.issued", "ev-2", person={scheme: normal})))
    assert first == second
    assert stored(api, "ev-1")["person"] == {scheme: normal}
    view = api.person(scheme, written.strip().replace(" ", "%20"))
    assert view.status_code == 200, view.text
    assert view.json()["person_id"] == first
    assert view.json()["identifiers"] == {scheme: normal}


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("type_", TYPES)
def test_a_valid_event_of_each_type_is_accepted(api: Api, type_: str) -> None:
    accepted(api.post(event(type_, f"ok-{type_}")))
    body = stored(api, f"ok-{type_}")
    assert body["type"] == type_
    assert body["data"] == EXAMPLES[type_]


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("prison.treatment.ended", {}),
        ("naloxone.issued", {}),
        ("person.died", {}),
        ("person.died", {"drug_related": None}),
        ("prison.reception", {"prison": "MDI"}),
        ("prison.released", {"prison": "mdi", "release_type": "hdc"}),
        ("licence.activated", {"licence_id": "L1", "conditions": []}),
        ("licence.activated", {"licence_id": "L1", "conditions": [{"category": "alcohol"}]}),
    ],
)
def test_only_required_data_is_enough(api: Api, type_: str, data: dict[str, Any]) -> None:
    body = event(type_)
    body["data"] = data
    accepted(api.post(body))


def without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    target = body
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return body


def with_value(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


MISSING = [
    ("prison.reception", ("data", "prison")),
    ("prison.treatment.started", ("data", "prison")),
    ("prison.treatment.started", ("data", "substance_group")),
    ("prison.released", ("data", "prison")),
    ("prison.released", ("data", "release_type")),
    ("ost.prescribed", ("data", "medication")),
    ("ost.prescribed", ("data", "first_dose_on")),
    ("licence.activated", ("data", "licence_id")),
    ("licence.activated", ("data", "conditions")),
    ("licence.inactivated", ("data", "licence_id")),
    ("community.referral.received", ("data", "provider")),
    ("community.treatment.started", ("data", "provider")),
    ("community.treatment.exited", ("data", "provider")),
    ("community.treatment.exited", ("data", "reason")),
    ("prison.released", ("data",)),
    ("prison.released", ("event_id",)),
    ("prison.released", ("occurred_on",)),
    ("prison.released", ("person",)),
    ("prison.released", ("type",)),
]


def refused_and_absent(api: Api, answer: Response, event_id: str, *field: str | int) -> None:
    """The event was refused as invalid, naming `field`, and left nothing behind."""
    assert_invalid(answer, *field)
    assert_problem(get(api, event_id), 404, "not-found")
    assert_problem(api.person("nomis", nomis(7)), 404, "not-found")


@pytest.mark.parametrize(("type_", "path"), MISSING, ids=lambda v: str(v))
def test_a_missing_required_field_is_422(api: Api, type_: str, path: tuple[str, ...]) -> None:
    body = without(event(type_, "bad-1", person={"nomis": nomis(7)}), *path)
    field = path if path != ("type",) else ()
    refused_and_absent(api, api.post(body), "bad-1", *field)


@pytest.mark.parametrize("type_", TYPES)
def test_an_unknown_data_field_is_422(api: Api, type_: str) -> None:
    body = event(type_, "bad-1", person={"nomis": nomis(7)}, colour="blue")
    refused_and_absent(api, api.post(body), "bad-1", "data", "colour")


def test_an_unknown_envelope_field_is_422(api: Api) -> None:
    body = {**event(event_id="bad-1", person={"nomis": nomis(7)}), "org": "PROVIDER-B"}
    refused_and_absent(api, api.post(body), "bad-1", "org")


def test_an_unknown_licence_condition_field_is_422(api: Api) -> None:
    conditions = [{"category": "drug_testing", "colour": "blue"}]
    body = event("licence.activated", "bad-1", person={"nomis": nomis(7)}, conditions=conditions)
    refused_and_absent(api, api.post(body), "bad-1", "data", "conditions", 0, "colour")


WRONG_VALUES = [
    ("prison.reception", ("data", "reason"), "holiday"),
    ("prison.reception", ("data", "prison"), "MOORLAND"),
    ("prison.treatment.started", ("data", "substance_group"), "cannabis"),
    ("prison.treatment.started", ("data", "on_ost"), "yes"),
    ("prison.treatment.started", ("data", "on_ost"), 1),
    ("prison.treatment.ended", ("data", "reason"), "escaped"),
    ("prison.released", ("data", "release_type"), "parole"),
    ("prison.released", ("data", "release_type"), "HDC"),
    ("prison.released", ("data", "prison"), 123),
    ("ost.prescribed", ("data", "medication"), "heroin"),
    ("naloxone.issued", ("data", "setting"), "pharmacy"),
    ("licence.activated", ("data", "conditions"), [{"category": "curfew"}]),
    ("licence.activated", ("data", "conditions"), "drug_testing"),
    ("licence.activated", ("data", "licence_id"), ""),
    ("community.treatment.exited", ("data", "reason"), "bored"),
    ("community.referral.received", ("data", "provider"), "   "),
    ("person.died", ("data", "drug_related"), "unknown"),
    ("prison.released", ("type",), "prison.escaped"),
    ("prison.released", ("person",), "A1234BC"),
    ("prison.released", ("data",), []),
]


@pytest.mark.parametrize(("type_", "path", "value"), WRONG_VALUES, ids=lambda v: str(v))
def test_a_wrong_value_is_422(api: Api, type_: str, path: tuple[str, ...], value: Any) -> None:
    body = with_value(event(type_, "bad-1", person={"nomis": nomis(7)}), value, *path)
    field = path if path != ("type",) else ()
    refused_and_absent(api, api.post(body), "bad-1", *field)


BAD_DATES = [
    ("occurred_on", "02/03/2026"),
    ("occurred_on", "2026-3-2"),
    ("occurred_on", "2026-03-02T10:00:00"),
    ("occurred_on", "2026-02-30"),
    ("occurred_on", "yesterday"),
    ("occurred_on", ""),
    ("occurred_on", 20260302),
    ("occurred_on", 1772409600),
    ("occurred_on", None),
    ("occurred_on", "1999-12-31"),
    ("first_dose_on", "03/03/2026"),
    ("first_dose_on", 20260303),
]


@pytest.mark.parametrize(("field", "value"), BAD_DATES, ids=lambda v: repr(v))
def test_a_bad_date_is_422(api: Api, field: str, value: Any) -> None:
    body = event("ost.prescribed", "bad-1", person={"nomis": nomis(7)})
    if field == "occurred_on":
        body["occurred_on"] = value
        loc: tuple[str, ...] = ("occurred_on",)
    else:
        body["data"][field] = value
        loc = ("data", field)
    refused_and_absent(api, api.post(body), "bad-1", *loc)


def test_occurred_on_may_be_the_first_day_of_2000(api: Api) -> None:
    accepted(api.post(event(occurred_on="2000-01-01")))


def test_occurred_on_may_be_tomorrow_but_not_later(api: Api) -> None:
    today = london_today()
    accepted(api.post(event(event_id="ok-1", occurred_on=str(today + timedelta(days=1)))))
    later = event(event_id="bad-1", occurred_on=str(today + timedelta(days=2)))
    assert_invalid(api.post(later), "occurred_on")
    assert_problem(get(api, "bad-1"), 404, "not-found")


BAD_PEOPLE = [
    ({"nhs": "9434765918"}, ("person", "nhs")),
    ({"nhs": "943476591"}, ("person", "nhs")),
    ({"nhs": "94347659190"}, ("person", "nhs")),
    ({"nhs": 9434765919}, ("person", "nhs")),
    ({"pnc": "2012/0052834A"}, ("person", "pnc")),
    ({"pnc": "12/52834A"}, ("person", "pnc")),
    ({"pnc": "2012-0052834K"}, ("person", "pnc")),
    ({"nomis": "A1234B"}, ("person", "nomis")),
    ({"nomis": "11234BC"}, ("person", "nomis")),
    ({"crn": "X12345"}, ("person", "crn")),
    ({"passport": "123456789"}, ("person", "passport")),
    ({}, ("person",)),
    ({"nomis": None, "crn": None}, ("person",)),
    ({"nomis": nomis(7), "nhs": "9434765918"}, ("person", "nhs")),
]


@pytest.mark.parametrize(("person", "loc"), BAD_PEOPLE, ids=lambda v: repr(v))
def test_bad_identifiers_are_422(api: Api, person: dict[str, Any], loc: tuple[str, ...]) -> None:
    refused_and_absent(api, api.post(event(event_id="bad-1", person=person)), "bad-1", *loc)


def test_a_pnc_with_a_two_digit_year_is_accepted(api: Api) -> None:
    short = pnc(52834, year="12")
    accepted(api.post(event(person={"pnc": short})))
    # Stored in its long form (CONTRACT §3.1, 2026-12-07).
    assert stored(api, "ev-1")["person"] == {"pnc": "2012/0052834K"}


@pytest.mark.parametrize(
    "event_id",
    ["x" * 129, "mdi 1", "mdi/1", "", "mdi#1", "é-1", "mdi-1\n", 123, None],
    ids=repr,
)
def test_a_bad_event_id_is_422(api: Api, event_id: Any) -> None:
    body = event(event_id="placeholder", person={"nomis": nomis(7)})
    body["event_id"] = event_id
    assert_invalid(api.post(body), "event_id")
    assert_problem(api.person("nomis", nomis(7)), 404, "not-found")


def test_an_event_id_of_128_allowed_characters_is_accepted(api: Api) -> None:
    event_id = ("Az09._:-" * 16)[:128]
    accepted(api.post(event(event_id=event_id)))
    assert stored(api, event_id)["event_id"] == event_id


# --- identity -----------------------------------------------------------------------------


def test_a_known_identifier_attaches_a_new_one_to_the_same_person(api: Api) -> None:
    person_id = accepted(api.post(event(event_id="ev-1", person={"nomis": nomis()})))
    both = {"nomis": nomis(), "crn": crn()}
    assert accepted(api.post(event("naloxone.issued", "ev-2", person=both))) == person_id
    view = api.person("crn", crn())
    assert view.status_code == 200, view.text
    assert view.json()["person_id"] == person_id
    assert view.json()["identifiers"] == both
    later = api.post(event("naloxone.issued", "ev-3", person={"crn": crn()}))
    assert accepted(later) == person_id


def test_unknown_identifiers_make_a_new_person(api: Api) -> None:
    first = accepted(api.post(event(event_id="ev-1", person={"nomis": nomis(1)})))
    second = accepted(api.post(event(event_id="ev-2", person={"nomis": nomis(2)})))
    assert first != second


def test_identifiers_naming_two_people_are_refused_and_nothing_is_stored(api: Api) -> None:
    one = accepted(api.post(event(event_id="ev-1", person={"nomis": nomis()})))
    two = accepted(api.post(event(event_id="ev-2", person={"crn": crn()})))
    both = {"nomis": nomis(), "crn": crn(), "nhs": nhs()}
    answer = api.post(event("naloxone.issued", "ev-3", person=both))
    assert_problem(answer, 409, "identity-conflict")
    assert_problem(get(api, "ev-3"), 404, "not-found")
    assert api.person("nomis", nomis()).json()["identifiers"] == {"nomis": nomis()}
    assert api.person("crn", crn()).json()["identifiers"] == {"crn": crn()}
    assert api.person("nomis", nomis()).json()["person_id"] == one
    assert api.person("crn", crn()).json()["person_id"] == two
    assert_problem(api.person("nhs", nhs()), 404, "not-found")


def test_an_identity_conflict_can_be_retried_with_consistent_identifiers(api: Api) -> None:
    accepted(api.post(event(event_id="ev-1", person={"nomis": nomis()})))
    accepted(api.post(event(event_id="ev-2", person={"crn": crn()})))
    clash = event("naloxone.issued", "ev-3", person={"nomis": nomis(), "crn": crn()})
    assert_problem(api.post(clash), 409, "identity-conflict")
    fixed = event("naloxone.issued", "ev-3", person={"nomis": nomis()})
    accepted(api.post(fixed))


# --- corrections --------------------------------------------------------------------------


def test_a_correction_supersedes_the_event_it_corrects(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    fix = event(event_id="rel-1b", corrects="rel-1", occurred_on="2026-03-04", release_type="hdc")
    accepted(api.post(fix))
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    correction = stored(api, "rel-1b")
    assert correction["corrects"] == "rel-1"
    assert correction["superseded_by"] is None
    records = releases_of(api)
    assert [(r["released_on"], r["release_type"]) for r in records] == [("2026-03-04", "hdc")]


def test_a_correction_naming_another_person_moves_the_release_to_them(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1", person={"nomis": nomis(1)})))
    fix = event(event_id="rel-1b", corrects="rel-1", person={"nomis": nomis(2)})
    accepted(api.post(fix))
    gone(api, "nomis", nomis(1))
    assert [r["released_on"] for r in releases_of(api, "nomis", nomis(2))] == ["2026-03-02"]


def test_a_corrected_event_posted_again_is_a_duplicate_and_stays_superseded(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    assert api.post(event(event_id="rel-1")).json()["status"] == "duplicate"
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    assert [r["release_type"] for r in releases_of(api)] == ["hdc"]


def test_a_second_correction_of_the_same_event_is_409(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    answer = api.post(event(event_id="rel-1c", corrects="rel-1", release_type="pss"))
    assert_problem(answer, 409, "already-corrected")
    assert_problem(get(api, "rel-1c"), 404, "not-found")
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    assert [r["release_type"] for r in releases_of(api)] == ["hdc"]


def test_correcting_the_correction_works(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    accepted(api.post(event(event_id="rel-1c", corrects="rel-1b", release_type="pss")))
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    assert stored(api, "rel-1b")["superseded_by"] == "rel-1c"
    assert stored(api, "rel-1c")["superseded_by"] is None
    assert [r["release_type"] for r in releases_of(api)] == ["pss"]


def test_the_release_id_is_stable_across_a_correction(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    before = releases_of(api)[0]["release_id"]
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", occurred_on="2026-03-03")))
    assert [r["release_id"] for r in releases_of(api)] == [before]


def test_a_correction_of_another_type_is_409(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    answer = api.post(event("naloxone.issued", "nal-1", corrects="rel-1"))
    assert_problem(answer, 409)
    assert_problem(get(api, "nal-1"), 404, "not-found")
    assert stored(api, "rel-1")["superseded_by"] is None


def test_an_event_cannot_correct_itself(api: Api) -> None:
    assert_invalid(api.post(event(event_id="rel-1", corrects="rel-1")), "corrects")
    assert_problem(get(api, "rel-1"), 404, "not-found")


def test_a_correction_posted_before_its_event_supersedes_it_on_arrival(api: Api) -> None:
    fix = event(event_id="rel-1b", corrects="rel-1", occurred_on="2026-03-04", release_type="hdc")
    accepted(api.post(fix))
    accepted(api.post(event(event_id="rel-1")))
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    records = releases_of(api)
    assert [(r["released_on"], r["release_type"]) for r in records] == [("2026-03-04", "hdc")]


def test_a_late_original_of_another_type_than_its_correction_is_refused(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1")))
    assert_problem(api.post(event("naloxone.issued", "rel-1")), 409)
    assert_problem(get(api, "rel-1"), 404, "not-found")


def test_a_late_original_is_superseded_even_when_it_names_another_person(api: Api) -> None:
    fix = event(event_id="rel-1b", corrects="rel-1", person={"nomis": nomis(2)})
    accepted(api.post(fix))
    accepted(api.post(event(event_id="rel-1", person={"nomis": nomis(1)})))
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    gone(api, "nomis", nomis(1))
    assert len(releases_of(api, "nomis", nomis(2))) == 1


def test_a_chain_of_corrections_arriving_in_reverse_order(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1c", corrects="rel-1b", release_type="pss")))
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    accepted(api.post(event(event_id="rel-1")))
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    assert stored(api, "rel-1b")["superseded_by"] == "rel-1c"
    assert [r["release_type"] for r in releases_of(api)] == ["pss"]


def test_a_second_correction_of_an_event_not_yet_arrived_is_409(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    answer = api.post(event(event_id="rel-1c", corrects="rel-1", release_type="pss"))
    assert_problem(answer, 409, "already-corrected")
    assert_problem(get(api, "rel-1c"), 404, "not-found")


def test_another_key_of_the_same_organisation_shares_its_events(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    colleague = api.key("PROVIDER-A", "submitter")
    assert get(api, "rel-1", colleague).status_code == 200
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1"), headers=colleague))
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"


def test_a_late_original_of_a_retracted_correction_does_not_count(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    assert retract(api, "rel-1b").status_code == 200
    accepted(api.post(event(event_id="rel-1")))
    assert stored(api, "rel-1")["superseded_by"] == "rel-1b"
    gone(api)


def test_the_timeline_shows_only_the_correction(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    answer = api.client.get(f"/v1/people/nomis/{nomis()}/timeline", headers=api.probation)
    assert answer.status_code == 200, answer.text
    assert [e["event_id"] for e in answer.json()["events"]] == ["rel-1b"]


def test_event_ids_differing_only_in_case_are_different_events(api: Api) -> None:
    accepted(api.post(event(event_id="ev-1", release_type="hdc")))
    accepted(api.post(event(event_id="EV-1", release_type="pss")))
    assert stored(api, "ev-1")["data"]["release_type"] == "hdc"
    assert stored(api, "EV-1")["data"]["release_type"] == "pss"


def test_another_organisations_correction_does_not_touch_our_event(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    theirs = event(event_id="rel-1b", corrects="rel-1", release_type="hdc")
    accepted(api.post(theirs, headers=api.other_submitter))
    assert stored(api, "rel-1")["superseded_by"] is None
    assert get(api, "rel-1b").status_code == 404


# --- retractions --------------------------------------------------------------------------


def test_a_retraction_stops_the_event_counting(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    assert len(releases_of(api)) == 1
    answer = retract(api, "rel-1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["retracted"] is True
    assert answer.json()["retraction_reason"] == "sent in error"
    assert stored(api, "rel-1")["retracted"] is True
    gone(api)


def test_retracting_twice_is_harmless(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    first = retract(api, "rel-1")
    second = retract(api, "rel-1")
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    gone(api)


def test_retracting_a_corrected_event_is_409(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    assert_problem(retract(api, "rel-1"), 409, "event-superseded")
    assert stored(api, "rel-1")["retracted"] is False
    assert [r["release_type"] for r in releases_of(api)] == ["hdc"]


def test_retracting_a_correction_stops_the_events_it_corrected_counting(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    accepted(api.post(event(event_id="rel-1b", corrects="rel-1", release_type="hdc")))
    assert retract(api, "rel-1b").status_code == 200
    gone(api)


def test_retracting_an_unknown_event_is_404(api: Api) -> None:
    assert_problem(retract(api, "never-posted"), 404, "not-found")


def test_retracting_another_organisations_event_is_404(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    assert_problem(retract(api, "rel-1", api.other_submitter), 404, "not-found")
    assert stored(api, "rel-1")["retracted"] is False
    assert len(releases_of(api)) == 1


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": 5}, {"reason": "x", "by": "me"}])
def test_a_bad_retraction_body_is_422(api: Api, body: dict[str, Any]) -> None:
    accepted(api.post(event(event_id="rel-1")))
    answer = api.client.post("/v1/events/rel-1/retraction", json=body, headers=api.submitter)
    assert_invalid(answer)
    assert stored(api, "rel-1")["retracted"] is False


def test_a_retracted_event_posted_again_is_a_duplicate_and_stays_retracted(api: Api) -> None:
    accepted(api.post(event(event_id="rel-1")))
    assert retract(api, "rel-1").status_code == 200
    assert api.post(event(event_id="rel-1")).json()["status"] == "duplicate"
    assert stored(api, "rel-1")["retracted"] is True
    gone(api)
