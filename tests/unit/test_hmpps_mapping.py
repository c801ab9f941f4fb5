"""The mapping of HMPPS domain events to joinup events (CONTRACT §8), row by row."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from app.domain import hmpps, licences
from app.schemas.events import EVENT_ADAPTER
from tests.support import hmpps as published

NOMS, CRN = "A1234BC", "X123456"
AT = "2026-03-02T10:15:00Z"


def mapped(envelope: dict[str, Any]) -> Any:
    return hmpps.map_event(hmpps.read(envelope))


def only_event(envelope: dict[str, Any]) -> dict[str, Any]:
    answer = mapped(envelope)
    assert isinstance(answer, hmpps.Mapped), answer
    (event,) = answer.events
    return event


@pytest.mark.parametrize(
    ("code", "release_type"),
    [
        ("CR", "conditional_release"),
        ("HD", "hdc"),
        ("ECSL", "ecsl"),
        ("DEC", "died_in_custody"),
        ("DD", "deported"),
        ("DE", "deported"),
        ("DL", "deported"),
        ("HO", "hospital"),
        ("HP", "hospital"),
        ("HQ", "hospital"),
        ("NCS", "other"),
        (None, "other"),
    ],
)
def test_a_release_takes_its_type_from_the_movement_reason_code(
    code: str | None, release_type: str
) -> None:
    event = only_event(published.released(NOMS, AT, code=code))
    assert event["type"] == "prison.released"
    assert event["data"] == {"prison": "MDI", "release_type": release_type}
    assert event["person"] == {"nomis": NOMS}
    assert event["occurred_on"] == "2026-03-02"
    EVENT_ADAPTER.validate_python(event)


def test_a_release_to_hospital_is_a_hospital_release() -> None:
    event = only_event(published.released(NOMS, AT, code="HO", reason="RELEASED_TO_HOSPITAL"))
    assert event["data"]["release_type"] == "hospital"


@pytest.mark.parametrize(
    "reason", ["TRANSFERRED", "SENT_TO_COURT", "TEMPORARY_ABSENCE_RELEASE", "UNKNOWN"]
)
def test_movements_that_are_not_releases_are_ignored(reason: str) -> None:
    answer = mapped(published.released(NOMS, AT, reason=reason))
    assert isinstance(answer, hmpps.Ignored)
    assert reason in answer.reason


def test_a_release_with_no_person_reference_names_the_person_by_noms_number() -> None:
    event = only_event(published.released(NOMS, AT, code="CR", with_reference=False))
    assert event["person"] == {"nomis": NOMS}


def test_a_death_in_custody_is_a_release_of_that_type() -> None:
    event = only_event(published.released(NOMS, AT, code="DEC"))
    assert event["data"]["release_type"] == "died_in_custody"


def test_the_prisoner_search_variant_has_a_detail_url_and_no_person_reference() -> None:
    event = only_event(published.search_released(NOMS, AT))
    assert event["type"] == "prison.released"
    assert event["person"] == {"nomis": NOMS}
    assert event["data"] == {"prison": "MDI", "release_type": "other"}


def test_the_two_publishers_of_one_release_make_two_events_of_one_date() -> None:
    first = only_event(published.released(NOMS, AT))
    second = only_event(published.search_released(NOMS, AT))
    assert first["event_id"] != second["event_id"]
    assert first["occurred_on"] == second["occurred_on"]


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        ("RECALL", "recall"),
        ("REMAND", "remand"),
        ("CONVICTED_UNSENTENCED", "sentenced"),
        ("SENTENCED", "sentenced"),
        ("IMMIGRATION_DETAINEE", "other"),
        ("UNKNOWN", "other"),
        (None, "other"),
    ],
)
def test_an_admission_is_a_reception_with_its_probable_cause(
    cause: str | None, reason: str
) -> None:
    event = only_event(published.received(NOMS, AT, cause=cause))
    assert event["type"] == "prison.reception"
    assert event["data"] == {"prison": "MDI", "reason": reason}
    EVENT_ADAPTER.validate_python(event)


@pytest.mark.parametrize("reason", ["NEW_ADMISSION", "READMISSION"])
def test_the_search_publishers_admissions_are_receptions(reason: str) -> None:
    event = only_event(published.received(NOMS, AT, reason=reason, search=True))
    assert event["data"] == {"prison": "MDI", "reason": "recall"}


@pytest.mark.parametrize(
    ("reason", "search"),
    [
        ("TRANSFERRED", False),
        ("RETURN_FROM_COURT", False),
        ("TEMPORARY_ABSENCE_RETURN", False),
        ("ADMISSION", True),
        ("TRANSFERRED", True),
        ("RETURN_FROM_COURT", True),
    ],
)
def test_other_receptions_are_ignored(reason: str, search: bool) -> None:
    assert isinstance(
        mapped(published.received(NOMS, AT, reason=reason, search=search)), hmpps.Ignored
    )


@pytest.mark.parametrize("kind", hmpps.LICENCE_KINDS)
def test_every_licence_activation_asks_for_the_licence(kind: str) -> None:
    envelope = published.licence("1234", AT, crn=CRN, noms=NOMS, kind=kind)
    answer = mapped(envelope)
    assert isinstance(answer, hmpps.LicenceToFetch)
    assert answer.licence_id == "1234"
    assert answer.person == {"crn": CRN, "nomis": NOMS}
    assert answer.detail_url == envelope["detailUrl"]
    assert answer.occurred_on == date(2026, 3, 2)


@pytest.mark.parametrize("kind", hmpps.LICENCE_KINDS)
def test_every_licence_inactivation_is_a_licence_inactivation(kind: str) -> None:
    event = only_event(
        published.licence("1234", AT, crn=CRN, noms=NOMS, kind=kind, state="inactivated")
    )
    assert event["type"] == "licence.inactivated"
    assert event["data"] == {"licence_id": "1234"}
    assert event["person"] == {"crn": CRN, "nomis": NOMS}


def test_a_licence_from_cvl_gives_one_condition_per_additional_condition() -> None:
    request = mapped(published.licence("1234", AT, crn=CRN, noms=NOMS))
    licence = published.cvl_licence(
        "1234",
        CRN,
        NOMS,
        {"code": published.DRUG_TESTING, "text": "Attend drug testing"},
        {"code": published.NOT_A_DRUG_CONDITION, "text": "Do not contact the victim"},
    )
    licence["conditions"]["pssConditions"]["additional"] = [
        {"code": "62c83b80-2223-4562-a195-0670f4072088", "category": "Drugs", "text": "Attend"}
    ]
    event = licences.licence_event(request, licence)
    assert event["type"] == "licence.activated"
    assert event["data"] == {
        "licence_id": "1234",
        "conditions": [
            {"category": "drug_testing", "code": published.DRUG_TESTING},
            {"category": "other", "code": published.NOT_A_DRUG_CONDITION},
            {"category": "drug_appointment", "code": "62c83b80-2223-4562-a195-0670f4072088"},
        ],
    }
    EVENT_ADAPTER.validate_python(event)


@pytest.mark.parametrize(
    ("code", "text", "category"),
    [
        ("322bb3f7-2ee1-46aa-ae1c-3f743efd4327", "", "drug_testing"),
        ("fda24aa9-a2b0-4d49-9c87-23b0a7be4013", "", "drug_testing"),
        ("62c83b80-2223-4562-a195-0670f4072088", "", "drug_appointment"),
        ("a7c57e4e-30fe-4797-9fe7-70a35dbd7b65", "", "drug_appointment"),
        ("89e656ec-77e8-4832-acc4-6ec05d3e9a98", "", "drug_treatment"),
        (published.DEPENDENCY, "to address your drug and alcohol problems", "drug_treatment"),
        (published.DEPENDENCY, "to address your alcohol problems", "alcohol"),
        (published.DEPENDENCY, "to address your solvent abuse", "alcohol"),
        (published.DEPENDENCY, "to address your alcohol and solvents problems", "alcohol"),
        (published.DEPENDENCY, "to address your drug problems", "drug_treatment"),
        (published.DEPENDENCY, None, "drug_treatment"),
        (published.NOT_A_DRUG_CONDITION, "drugs", "other"),
        (None, "drugs", "other"),
    ],
)
def test_condition_categories_follow_the_cvl_codes(
    code: str | None, text: str | None, category: str
) -> None:
    assert licences.condition_category(code, text) == category


def test_a_prison_identifier_added_links_the_crn_with_the_noms_number() -> None:
    event = only_event(published.identifier_added(CRN, NOMS, AT))
    assert event["type"] == "person.identified"
    assert event["person"] == {"crn": CRN, "nomis": NOMS}
    assert event["data"] == {}
    EVENT_ADAPTER.validate_python(event)


@pytest.mark.parametrize(
    ("occurred_at", "day"),
    [
        ("2026-03-02T00:30:00+00:00", "2026-03-02"),  # GMT
        ("2026-03-01T23:30:00Z", "2026-03-01"),
        ("2026-06-01T23:30:00Z", "2026-06-02"),  # 00:30 BST on 2 June
        ("2026-06-02T00:30:00+01:00", "2026-06-02"),
        ("2026-06-02T00:30:00", "2026-06-02"),  # no offset: London's clock
        ("2026-06-01T23:30:00.123456789Z", "2026-06-02"),  # nanoseconds, as Java writes them
    ],
)
def test_the_date_is_the_london_date_of_occurred_at(occurred_at: str, day: str) -> None:
    assert only_event(published.released(NOMS, occurred_at))["occurred_on"] == day


def test_ids_are_the_same_for_every_delivery_and_differ_between_events() -> None:
    first = only_event(published.released(NOMS, AT))
    again = published.released(NOMS, AT)
    again["publishedAt"] = "2026-03-02T11:00:00Z"  # republished: still the same event
    assert only_event(again)["event_id"] == first["event_id"]
    other = only_event(published.released(NOMS, "2026-03-03T10:15:00Z"))
    assert other["event_id"] != first["event_id"]
    EVENT_ADAPTER.validate_python(first)


def test_the_person_reference_wins_over_the_noms_number() -> None:
    envelope = published.received(NOMS, AT)
    envelope["personReference"] = published.identifiers(NOMS=NOMS, PNC="2012/0052834K")
    assert only_event(envelope)["person"] == {"nomis": NOMS, "pnc": "2012/0052834K"}


def test_an_unknown_event_type_is_ignored() -> None:
    envelope = published.released(NOMS, AT)
    envelope["eventType"] = "prison-offender-events.prisoner.merged"
    answer = mapped(envelope)
    assert isinstance(answer, hmpps.Ignored)
    assert "prisoner.merged" in answer.reason


@pytest.mark.parametrize(
    "envelope",
    [
        [],
        {"eventType": "prison-offender-events.prisoner.released"},
        {**published.released(NOMS, AT), "occurredAt": "yesterday"},
        {**published.released(NOMS, AT), "additionalInformation": "x"},
        {**published.released(NOMS, AT), "personReference": {"identifiers": "A1234BC"}},
        {
            **published.released(NOMS, AT, with_reference=False),
            "additionalInformation": {"reason": "RELEASED", "prisonId": "MDI"},
        },
    ],
)
def test_a_message_that_is_no_domain_event_is_refused(envelope: Any) -> None:
    with pytest.raises(hmpps.InvalidDomainEvent):
        hmpps.map_event(hmpps.read(envelope))


def test_an_sns_notification_carries_the_envelope_as_a_string() -> None:
    from app.services.hmpps import sns

    envelope = published.released(NOMS, AT)
    message = sns.parse(json.dumps(published.sns(envelope)).encode())
    assert message.kind == "Notification"
    assert json.loads(message.message) == envelope
    assert sns.parse(json.dumps(envelope).encode()).envelope == envelope
