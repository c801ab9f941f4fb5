"""Examples for the OpenAPI document: one envelope of each event type, and one answer of each
shape. tests/api/test_openapi_teaches.py validates every one against the models the API uses,
so an example cannot drift from what the API takes and answers."""

from __future__ import annotations

from typing import Any, Final

PERSON: Final = {"nomis": "A1234BC", "crn": "X123456", "nhs": "9434765919", "pnc": "2012/0052834K"}
PERSON_ID: Final = "3f1c2a9e-8d4b-4f6a-9c1e-2b7d5e8f0a11"
RELEASE_ID: Final = "8b0e4d2c-1f3a-4e5b-9a7c-6d2e1f0b3c44"

DATA: Final[dict[str, dict[str, Any]]] = {
    "prison.reception": {"prison": "MDI", "reason": "recall"},
    "prison.treatment.started": {"prison": "MDI", "substance_group": "opiate", "on_ost": True},
    "prison.treatment.ended": {"reason": "released"},
    "prison.released": {
        "prison": "MDI",
        "release_type": "conditional_release",
        "local_authority": "E08000010",
        "probation_region": "North West",
        "community_provider": "PROVIDER-WIGAN",
    },
    "ost.prescribed": {"medication": "methadone", "first_dose_on": "2026-03-03"},
    "naloxone.issued": {"setting": "prison"},
    "licence.activated": {
        "licence_id": "L1",
        "conditions": [{"category": "drug_testing", "code": "DT01"}],
    },
    "licence.inactivated": {"licence_id": "L1"},
    "community.referral.received": {"provider": "PROVIDER-WIGAN"},
    "community.treatment.started": {"provider": "PROVIDER-WIGAN"},
    "community.treatment.exited": {"provider": "PROVIDER-WIGAN", "reason": "completed"},
    "person.died": {"drug_related": None},
    "person.identified": {},
}
_ON: Final = {"prison.treatment.started": "2026-01-15", "community.treatment.started": "2026-03-09"}


def envelope(type_: str) -> dict[str, Any]:
    """A valid event of `type_`, as a provider posts it."""
    person = {"nomis": PERSON["nomis"], "crn": PERSON["crn"]}
    return {
        "event_id": f"mdi-hc-{type_.replace('.', '-')}-000123",
        "type": type_,
        "occurred_on": _ON.get(type_, "2026-03-02"),
        "person": person,
        "data": DATA[type_],
        "corrects": None,
    }


EVENTS: Final = {type_: envelope(type_) for type_ in DATA}

_FLAG: Final = {"code": "no_naloxone", "raised_on": "2026-03-02", "resolved_on": None, "open": True}
RECORD: Final = {
    "release_id": RELEASE_ID,
    "person_id": PERSON_ID,
    "identifiers": PERSON,
    "prison": "MDI",
    "released_on": "2026-03-02",
    "release_type": "conditional_release",
    "local_authority": "E08000010",
    "probation_region": "North West",
    "community_provider": "PROVIDER-WIGAN",
    "in_treatment_at_release": True,
    "substance_group": "opiate",
    "on_ost": True,
    "stage": "in_treatment",
    "excluded_reason": None,
    "pickup_due_by": "2026-03-23",
    "picked_up_on": "2026-03-09",
    "late_pickup_on": None,
    "retention_due_on": "2026-06-01",
    "retained_12w": None,
    "flags": [_FLAG],
    "as_of": "2026-04-01",
    "picked_up_by": "PROVIDER-WIGAN",
    "pickup_days_left": None,
}
_STORED: Final = {
    **EVENTS["prison.released"],
    "person_id": PERSON_ID,
    "received_at": "2026-03-02T10:15:00Z",
    "superseded_by": None,
    "retracted": False,
    "retracted_at": None,
    "retraction_reason": None,
}
_COUNTS: Final = {
    "released_in_treatment": 40,
    "excluded": 2,
    "awaiting_pickup": 3,
    "pickup_due": 35,
    "picked_up": 14,
    "pickup_rate": 0.4,
    "retention_due": 10,
    "retained_12w": 6,
    "retention_rate": 0.6,
    "on_ost": 20,
    "no_ost": 4,
    "opiate": 25,
    "no_naloxone": 5,
    "supervised": 30,
    "no_licence_condition": 8,
    "no_referral": 12,
}
_PROBLEM: Final = {
    "type": "/problems/event-id-conflict",
    "title": "Event id already used",
    "status": 409,
    "detail": "event 'mdi-hc-000123' was posted before with a different data.prison. A posted "
    "event is never changed by posting it again: to change it, post a correction with a new "
    'event_id and "corrects": "mdi-hc-000123" (or retract it and post the new event)',
    "errors": [
        {"loc": ["data", "prison"], "msg": "differs from the event stored under this event_id"}
    ],
}
_KEY: Final = {
    "key_id": "k_5d1f0c",
    "org": "PROVIDER-WIGAN",
    "roles": ["submitter"],
    "event_types": ["community.referral.received", "community.treatment.started"],
    "label": "Wigan treatment system",
    "scope": None,
}
_CHANGE: Final = {
    "change_id": "1042",
    "type": "record.stage_changed",
    "changed_at": "2026-03-09T11:00:00Z",
    "effective_on": "2026-03-09",
    "release_id": RELEASE_ID,
    "person_id": PERSON_ID,
    "identifiers": PERSON,
    "prison": "MDI",
    "probation_region": "North West",
    "local_authority": "E08000010",
    "community_provider": "PROVIDER-WIGAN",
    "released_on": "2026-03-02",
    "stage": "in_treatment",
    "previous_stage": "awaiting_pickup",
    "flag": None,
}
_AUDIT: Final = {
    "what": "READ_PERSON",
    "who": "k_5d1f0c",
    "when": "2026-03-09T11:05:00Z",
    "subjectId": PERSON_ID,
    "subjectType": "person",
    "correlationId": "3f9c2d7e8a514b0c9d6e1f2a3b4c5d6e",
    "callerRequestId": "rq-4f2a",
    "service": "joinup",
    "details": {"scheme": "nomis"},
}
_SUBSCRIPTION: Final = {
    "subscription_id": "s_91c2",
    "org": "PROBATION-NW",
    "url": "https://hooks.example.org/joinup",
    "types": ["record.stage_changed"],
    "filter": {"prisons": ["MDI"]},
    "scope": None,
    "status": "active",
    "disabled_reason": None,
    "created_at": "2026-03-01T09:00:00Z",
    "last_delivery": None,
}

# One answer of each shape, by the name of its schema in the document.
ANSWERS: Final[dict[str, Any]] = {
    "EventAccepted": {"event_id": "mdi-hc-000123", "status": "accepted", "person_id": PERSON_ID},
    "BatchResult": {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 1,
        "stored": True,
        "results": [
            {"index": 0, "event_id": "mdi-hc-000123", "status": "accepted", "person_id": PERSON_ID},
            {"index": 1, "event_id": "mdi-hc-000123", "status": "rejected", "problem": _PROBLEM},
        ],
    },
    "EventRead": _STORED,
    "EventPage": {"items": [_STORED], "next_cursor": None},
    "Problem": _PROBLEM,
    "PersonView": {
        "person_id": PERSON_ID,
        "identifiers": PERSON,
        "as_of": "2026-04-01",
        "releases": [RECORD],
    },
    "Timeline": {
        "person_id": PERSON_ID,
        "identifiers": PERSON,
        "events": [
            {
                "event_id": "mdi-hc-000123",
                "org": "HMP-MDI-HC",
                "type": "prison.released",
                "occurred_on": "2026-03-02",
                "data": DATA["prison.released"],
                "corrects": None,
                "received_at": "2026-03-02T10:15:00Z",
            }
        ],
    },
    "ReleasePage": {"items": [RECORD], "next_cursor": "eyJyIjoiMjAyNi0wMy0wMiJ9"},
    "Metrics": {
        "as_of": "2026-06-30",
        "released_from": "2026-01-01",
        "released_to": "2026-03-31",
        "group_by": "prison",
        "rows": [{"group": "MDI", **_COUNTS}],
        "total": _COUNTS,
    },
    "KeyCreated": {**_KEY, "secret": "jk_live_8d2f...shown-once"},
    "KeyRead": {**_KEY, "created_at": "2026-03-01T09:00:00Z"},
    "DomainEventAnswer": {"status": "accepted", "events": ["hmpps:7e1c:released"]},
    "ChangePage": {"items": [_CHANGE], "next_after": "1042"},
    "AuditPage": {"items": [_AUDIT], "next_cursor": None},
    "SubscriptionRead": _SUBSCRIPTION,
    "SubscriptionCreated": {**_SUBSCRIPTION, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "DeliveryAttempt": {
        "change_id": "1042",
        "attempt": 1,
        "at": "2026-03-09T11:00:01Z",
        "status_code": 204,
        "error": None,
        "duration_ms": 85,
    },
}
ANSWERS["SubjectExport"] = {
    "person_id": PERSON_ID,
    "identifiers": PERSON,
    "all_identifiers": [{"scheme": "nomis", "value": PERSON["nomis"]}],
    "as_of": "2026-04-01",
    "events": [{**_STORED, "org": "HMP-MDI-HC"}],
    "releases": [RECORD],
    "audit": [_AUDIT],
}
