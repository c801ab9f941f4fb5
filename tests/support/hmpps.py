"""HMPPS domain events in the shapes their publishers send, and the SNS wrapper around them."""

from __future__ import annotations

import json
import uuid
from typing import Any

DRUG_TESTING = "322bb3f7-2ee1-46aa-ae1c-3f743efd4327"
DEPENDENCY = "f1d2888b-be86-4732-8874-44cb867865c2"
NOT_A_DRUG_CONDITION = "0a61a39f-2b1c-4a5d-8f6e-6b2b1f0c9e11"


def identifiers(**given: str) -> dict[str, Any]:
    return {"identifiers": [{"type": kind, "value": value} for kind, value in given.items()]}


def released(
    noms: str,
    at: str,
    *,
    code: str | None = "CR",
    reason: str = "RELEASED",
    prison: str = "MDI",
    with_reference: bool = True,
) -> dict[str, Any]:
    """prison-offender-events.prisoner.released, as the prison events publisher sends it."""
    info: dict[str, Any] = {
        "nomsNumber": noms,
        "reason": reason,
        "details": f"Movement reason code {code}",
        "currentLocation": "OUTSIDE_PRISON",
        "prisonId": prison,
        "currentPrisonStatus": "NOT_UNDER_PRISON_CARE",
    }
    if code is not None:
        info["nomisMovementReasonCode"] = code
    envelope: dict[str, Any] = {
        "eventType": "prison-offender-events.prisoner.released",
        "version": 1,
        "occurredAt": at,
        "publishedAt": at,
        "description": "A prisoner has been released from prison",
        "additionalInformation": info,
    }
    if with_reference:
        envelope["personReference"] = identifiers(NOMS=noms)
    return envelope


def search_released(noms: str, at: str, *, prison: str = "MDI") -> dict[str, Any]:
    """prisoner-offender-search.prisoner.released: a detailUrl and no personReference."""
    return {
        "eventType": "prisoner-offender-search.prisoner.released",
        "version": 1,
        "occurredAt": at,
        "publishedAt": at,
        "description": "A prisoner has been released from a prison with reason: released",
        "detailUrl": f"https://prisoner-search.prison.service.justice.gov.uk/prisoner/{noms}",
        "additionalInformation": {"nomsNumber": noms, "reason": "RELEASED", "prisonId": prison},
    }


def received(
    noms: str,
    at: str,
    *,
    cause: str | None = "RECALL",
    reason: str = "ADMISSION",
    prison: str = "MDI",
    search: bool = False,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "nomsNumber": noms,
        "reason": reason,
        "prisonId": prison,
        "currentLocation": "IN_PRISON",
        "currentPrisonStatus": "UNDER_PRISON_CARE",
    }
    if cause is not None:
        info["probableCause"] = cause
    publisher = "prisoner-offender-search" if search else "prison-offender-events"
    return {
        "eventType": f"{publisher}.prisoner.received",
        "version": 1,
        "occurredAt": at,
        "publishedAt": at,
        "description": "A prisoner has been received into prison",
        "personReference": identifiers(NOMS=noms),
        "additionalInformation": info,
    }


def licence(
    licence_id: str,
    at: str,
    *,
    crn: str,
    noms: str,
    kind: str = "licence",
    state: str = "activated",
    cvl_url: str = "https://create-and-vary-a-licence-api.hmpps.service.justice.gov.uk",
) -> dict[str, Any]:
    """create-and-vary-a-licence.<kind>.<state>: the licence id and a detailUrl into CVL."""
    return {
        "eventType": f"create-and-vary-a-licence.{kind}.{state}",
        "version": 1,
        "occurredAt": at,
        "publishedAt": at,
        "description": f"Licence {state}",
        "detailUrl": f"{cvl_url}/public/licences/id/{licence_id}",
        "personReference": identifiers(CRN=crn, NOMS=noms),
        "additionalInformation": {"licenceId": licence_id},
    }


def identifier_added(crn: str, noms: str, at: str) -> dict[str, Any]:
    return {
        "eventType": "probation-case.prison-identifier.added",
        "version": 1,
        "occurredAt": at,
        "publishedAt": at,
        "description": "A prison identifier has been added to a probation case",
        "personReference": identifiers(CRN=crn),
        "additionalInformation": {"nomsNumber": noms},
    }


def cvl_licence(
    licence_id: str, crn: str, noms: str, *conditions: dict[str, str]
) -> dict[str, Any]:
    """A licence in CVL's public shape."""
    return {
        "id": int(licence_id) if licence_id.isdigit() else licence_id,
        "licenceType": "AP",
        "statusCode": "ACTIVE",
        "nomsId": noms,
        "crn": crn,
        "conditions": {
            "apConditions": {
                "standard": [{"code": "9ce9d594-e346-4785-9642-c87e764bee37", "text": "Be good"}],
                "additional": [
                    {"id": i, "category": c.get("category", "Drug testing"), **c}
                    for i, c in enumerate(conditions)
                ],
                "bespoke": [],
            },
            "pssConditions": {"standard": [], "additional": []},
        },
    }


def sns(envelope: dict[str, Any], topic: str = "hmpps-domain-events") -> dict[str, Any]:
    """An SNS notification around the envelope (`Message` is the envelope as a JSON string)."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": f"arn:aws:sns:eu-west-2:000000000000:{topic}",
        "Message": json.dumps(envelope),
        "Timestamp": "2026-03-02T10:15:00.000Z",
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-x.pem",
        "UnsubscribeURL": "https://sns.eu-west-2.amazonaws.com/?Action=Unsubscribe",
        "MessageAttributes": {
            "eventType": {"Type": "String", "Value": envelope.get("eventType", "")}
        },
    }
