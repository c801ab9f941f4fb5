"""HMPPS domain events through `POST /v1/integrations/hmpps/events` (CONTRACT §8), on both
databases, with HMPPS Auth, CVL and an SNS host as real HTTP servers on loopback."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from httpx import Response

from app.db import hmpps as pending_store
from app.services import clock
from app.services.hmpps import retries
from tests.support import hmpps as published
from tests.support.api import Api, bearer, key_body, running
from tests.support.hmpps_servers import Hmpps, SnsHost, hmpps_servers, sns_host

PATH = "/v1/integrations/hmpps/events"
NOMS, CRN = "A1234BC", "X123456"
OTHER_NOMS, OTHER_CRN = "B2345CD", "Y234567"
ACTIVATED = "create-and-vary-a-licence.licence.activated"
COUNTED = re.compile(
    r'^joinup_hmpps_domain_events_total\{outcome="([^"]+)",type="([^"]+)"\} (\S+)$', re.M
)


@pytest.fixture(scope="module")
def hmpps_state() -> Iterator[Hmpps]:
    with hmpps_servers() as state:
        yield state


@pytest.fixture
def hmpps(hmpps_state: Hmpps) -> Hmpps:
    state = hmpps_state
    state.licences.clear()
    state.issued.clear()
    state.revoked.clear()
    state.licence_reads.clear()
    state.down = state.auth_down = False
    state.failures = 0
    return state


@pytest.fixture(scope="module")
def sns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnsHost]:
    with sns_host(tmp_path_factory.mktemp("sns")) as host:
        yield host


@pytest.fixture
def api(database_url: str, hmpps: Hmpps, sns: SnsHost) -> Iterator[Api]:
    settings = {
        **hmpps.settings(),
        "sns_cert_hosts": sns.host,
        "sns_ca_file": str(sns.cert.path),
        "inline_worker": False,
    }
    with running(database_url, **settings) as client:
        yield client


@pytest.fixture
def hmpps_key(api: Api) -> dict[str, str]:
    return api.key("HMPPS", "submitter")


def send(api: Api, body: Any, key: dict[str, str], *, text: bool = False) -> Response:
    media = "text/plain; charset=UTF-8" if text else "application/json"
    return api.client.post(PATH, content=json.dumps(body), headers={**key, "Content-Type": media})


def taken(api: Api, body: Any, key: dict[str, str], status: str = "accepted") -> list[str]:
    answer = send(api, body, key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == status, answer.json()
    events: list[str] = answer.json()["events"]
    return events


def releases_of(api: Api, noms: str) -> list[dict[str, Any]]:
    answer = api.person("nomis", noms)
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["releases"]
    return records


def timeline(api: Api, noms: str) -> list[dict[str, Any]]:
    answer = api.client.get(f"/v1/people/nomis/{noms}/timeline", headers=api.probation)
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def counted(api: Api) -> dict[tuple[str, str], float]:
    """/metrics' domain events: {(type, outcome): count}."""
    text = api.client.get("/metrics", headers=api.admin).text
    return {(kind, outcome): float(n) for outcome, kind, n in COUNTED.findall(text)}


def pending(api: Api) -> int:
    """How many domain events are kept pending."""
    hub = api.client.app.state.runtime.hmpps  # type: ignore[attr-defined]

    async def count() -> int:
        async with hub.db.read() as conn:
            return await pending_store.count(conn)

    portal = api.client.portal
    assert portal is not None
    kept: int = portal.call(count)
    return kept


def retry_due(api: Api, after: timedelta) -> int:
    hub = api.client.app.state.runtime.hmpps  # type: ignore[attr-defined]
    portal = api.client.portal
    assert portal is not None
    done: int = portal.call(retries.retry_due, hub, clock.now() + after)
    return done


def test_a_release_is_stored_once_however_often_it_is_delivered(
    api: Api, hmpps_key: dict[str, str]
) -> None:
    envelope = published.released(NOMS, "2026-03-02T10:15:00Z", code="HD")
    (event_id,) = taken(api, envelope, hmpps_key)
    assert taken(api, envelope, hmpps_key, "duplicate") == [event_id]
    (record,) = releases_of(api, NOMS)
    assert (record["released_on"], record["prison"], record["release_type"]) == (
        "2026-03-02",
        "MDI",
        "hdc",
    )
    stored = api.client.get(f"/v1/events/{event_id}", headers=hmpps_key).json()
    assert stored["type"] == "prison.released" and stored["person"] == {"nomis": NOMS}


def test_the_key_may_come_as_the_password_of_http_basic(
    api: Api, hmpps_key: dict[str, str], sns: SnsHost
) -> None:
    secret = hmpps_key["Authorization"].removeprefix("Bearer ")
    basic = {"Authorization": "Basic " + base64.b64encode(f"sns:{secret}".encode()).decode()}
    envelope = published.received(NOMS, "2026-03-20T09:00:00Z")
    taken(api, sns.sign(published.sns(envelope)), basic)
    wrong = {"Authorization": "Basic " + base64.b64encode(b"sns:not-a-key").decode()}
    assert send(api, envelope, wrong).status_code == 401
    challenged = send(api, envelope, {})
    assert challenged.status_code == 401
    # SNS sends the credentials of a subscription URL only when challenged for Basic.
    assert challenged.headers["www-authenticate"] == 'Basic realm="joinup"'
    assert challenged.json()["type"] == "/problems/unauthorized"
    assert send(api, envelope, api.probation).status_code == 403
    assert [e["type"] for e in timeline(api, NOMS)] == ["prison.reception"]


def test_an_unknown_event_type_is_ignored_audited_and_counted(
    api: Api, hmpps_key: dict[str, str]
) -> None:
    envelope = {**published.released(NOMS, "2026-03-02T10:15:00Z"), "eventType": "x.y.merged"}
    answer = send(api, envelope, hmpps_key).json()
    assert answer["status"] == "ignored" and answer["events"] == []
    assert "x.y.merged" in answer["reason"]
    transfer = published.released(NOMS, "2026-03-02T10:15:00Z", reason="TRANSFERRED")
    assert send(api, transfer, hmpps_key).json()["status"] == "ignored"
    assert api.person("nomis", NOMS).status_code == 404
    rows = api.client.get("/v1/audit", params={"what": "HMPPS_EVENT"}, headers=api.admin).json()
    assert sorted(r["subjectId"] for r in rows["items"]) == [
        "prison-offender-events.prisoner.released",
        "x.y.merged",
    ]
    assert {r["details"]["outcome"] for r in rows["items"]} == {"ignored"}
    metrics = api.client.get("/metrics", headers=api.admin).text
    assert 'joinup_hmpps_domain_events_total{outcome="ignored",type="other"} 1.0' in metrics
    released = 'type="prison-offender-events.prisoner.released"'
    assert f'joinup_hmpps_domain_events_total{{outcome="ignored",{released}}} 1.0' in metrics


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_sns_notifications_are_verified(
    api: Api, hmpps_key: dict[str, str], sns: SnsHost, version: str
) -> None:
    envelope = published.released(NOMS, "2026-03-02T10:15:00Z")
    signed = sns.sign(published.sns(envelope), version)
    answer = send(api, signed, hmpps_key, text=True)
    assert answer.status_code == 200 and answer.json()["status"] == "accepted", answer.text
    forged = {**signed, "Message": json.dumps({**envelope, "occurredAt": "2026-03-01T10:15:00Z"})}
    refused = send(api, forged, hmpps_key)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    elsewhere = {**signed, "SigningCertURL": "https://example.com/cert.pem"}
    assert send(api, elsewhere, hmpps_key).status_code == 403
    plain = {**signed, "SigningCertURL": sns.cert_url.replace("https:", "http:")}
    assert send(api, plain, hmpps_key).status_code == 403
    unsigned = published.sns(published.received(NOMS, "2026-03-20T09:00:00Z"))
    assert send(api, unsigned, hmpps_key).status_code == 403
    assert [e["type"] for e in timeline(api, NOMS)] == ["prison.released"]


def test_a_certificate_is_fetched_once(api: Api, hmpps_key: dict[str, str], sns: SnsHost) -> None:
    before = sns.cert_fetches
    for day in ("02", "03"):
        envelope = published.released(NOMS, f"2026-03-{day}T10:15:00Z")
        assert send(api, sns.sign(published.sns(envelope)), hmpps_key).status_code == 200
    assert sns.cert_fetches - before == 1


def confirmation(subscribe_url: str) -> dict[str, Any]:
    """An SNS SubscriptionConfirmation (unsigned)."""
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "m-1",
        "Token": "tok-123",
        "TopicArn": "arn:aws:sns:eu-west-2:000000000000:hmpps-domain-events",
        "Message": "You have chosen to subscribe",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-03-02T10:15:00.000Z",
    }


def test_a_subscription_is_confirmed_and_an_unsubscription_recorded(
    api: Api, hmpps_key: dict[str, str], sns: SnsHost
) -> None:
    confirming = confirmation(f"{sns.url}/?Action=ConfirmSubscription&Token=tok-123")
    answer = send(api, sns.sign(confirming), hmpps_key, text=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ignored"
    assert sns.confirmed[-1] == "/?Action=ConfirmSubscription&Token=tok-123"
    elsewhere = confirmation("https://evil.example.com/?Action=Confirm")
    assert send(api, sns.sign(elsewhere), hmpps_key).status_code == 422
    ended = {**confirming, "Type": "UnsubscribeConfirmation", "MessageId": "m-2"}
    assert send(api, sns.sign(ended), hmpps_key).json()["status"] == "ignored"
    rows = api.client.get(
        "/v1/audit", params={"what": "HMPPS_SUBSCRIPTION"}, headers=api.admin
    ).json()["items"]
    assert [r["details"]["outcome"] for r in rows] == ["unsubscribed", "confirmed"]


def test_a_subscribe_url_over_plain_http_is_refused(
    api: Api, hmpps_key: dict[str, str], sns: SnsHost
) -> None:
    plain = confirmation(f"http://{sns.host}/?Action=ConfirmSubscription&Token=tok-123")
    before = list(sns.confirmed)
    answer = send(api, sns.sign(plain), hmpps_key, text=True)
    # Refused before anything is fetched (a fetch over http of this HTTPS host would be a 503).
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert sns.confirmed == before
    assert counted(api) == {("sns.SubscriptionConfirmation", "refused"): 1.0}


def test_verification_can_be_turned_off_for_tests(database_url: str) -> None:
    with running(database_url, sns_verify=False, inline_worker=False) as api:
        key = api.key("HMPPS", "submitter")
        unsigned = published.sns(published.released(NOMS, "2026-03-02T10:15:00Z"))
        assert taken(api, unsigned, key)


def test_a_licence_is_read_from_cvl_with_a_token_kept_between_reads(
    api: Api, hmpps: Hmpps, hmpps_key: dict[str, str]
) -> None:
    hmpps.licences["1001"] = published.cvl_licence(
        "1001", CRN, NOMS, {"code": published.DRUG_TESTING, "text": "Attend drug testing"}
    )
    hmpps.licences["1002"] = published.cvl_licence(
        "1002", CRN, NOMS, {"code": published.DEPENDENCY, "text": "address your alcohol problems"}
    )
    first = published.licence(
        "1001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
    )
    (event_id,) = taken(api, first, hmpps_key)
    variation = published.licence(
        "1002", "2026-02-25T12:00:00Z", crn=CRN, noms=NOMS, kind="variation", cvl_url=hmpps.cvl_url
    )
    taken(api, variation, hmpps_key)
    assert hmpps.issued == ["token-1"]
    stored = api.client.get(f"/v1/events/{event_id}", headers=hmpps_key).json()
    assert stored["data"] == {
        "licence_id": "1001",
        "conditions": [{"category": "drug_testing", "code": published.DRUG_TESTING}],
    }
    assert stored["person"] == {"nomis": NOMS, "crn": CRN}
    # Delivered again once stored: a duplicate, without asking CVL.
    assert taken(api, first, hmpps_key, "duplicate") == [event_id]
    assert hmpps.licence_reads == ["1001", "1002"]


def test_a_refused_token_is_replaced(api: Api, hmpps: Hmpps, hmpps_key: dict[str, str]) -> None:
    for licence_id in ("1001", "1002"):
        hmpps.licences[licence_id] = published.cvl_licence(licence_id, CRN, NOMS)
    taken(
        api,
        published.licence(
            "1001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
        ),
        hmpps_key,
    )
    hmpps.revoked.add("token-1")
    taken(
        api,
        published.licence(
            "1002", "2026-02-21T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
        ),
        hmpps_key,
    )
    assert hmpps.issued == ["token-1", "token-2"]


def test_a_detail_url_outside_cvl_is_refused(
    api: Api, hmpps: Hmpps, hmpps_key: dict[str, str]
) -> None:
    hmpps.licences["1001"] = published.cvl_licence("1001", CRN, NOMS)
    for outside in (
        "https://create-and-vary-a-licence-api.example.com/public/licences/id/1001",
        f"{hmpps.url}/elsewhere/1001",
        f"{hmpps.cvl_url}/../auth/oauth/token",
        # Dot segments percent-encoded, as a server or proxy on the way would decode them.
        f"{hmpps.cvl_url}/%2e%2e/auth/oauth/token",
        f"{hmpps.cvl_url}/public/licences/id/%2E%2E/%2E%2E/%2E%2E/%2E%2E/auth/oauth/token",
        f"{hmpps.cvl_url}/public/licences/id/..%2f..%2f..%2f..%2fauth%2foauth%2ftoken",
        f"{hmpps.cvl_url}/public/licences/id/%252e%252e/1001",
    ):
        envelope = {
            **published.licence("1001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS),
            "detailUrl": outside,
        }
        answer = send(api, envelope, hmpps_key)
        assert answer.status_code == 422, (outside, answer.text)
    assert hmpps.licence_reads == []
    assert api.person("nomis", NOMS).status_code == 404


@pytest.mark.parametrize("down", ["cvl", "auth"])
def test_while_cvl_cannot_be_reached_the_event_is_pending_then_stored_once(
    api: Api, hmpps: Hmpps, hmpps_key: dict[str, str], sns: SnsHost, down: str
) -> None:
    hmpps.licences["1001"] = published.cvl_licence(
        "1001", CRN, NOMS, {"code": published.DRUG_TESTING, "text": "Attend drug testing"}
    )
    if down == "cvl":
        hmpps.down = True
    else:
        hmpps.auth_down = True
    envelope = published.licence(
        "1001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
    )
    answer = send(api, envelope, hmpps_key).json()
    assert answer["status"] == "pending" and len(answer["events"]) == 1
    assert send(api, sns.sign(published.sns(envelope)), hmpps_key).json()["status"] == "pending"
    assert api.person("nomis", NOMS).status_code == 404
    # Not yet due: nothing tried. Due within a minute, but CVL still down: still pending.
    assert retry_due(api, timedelta(seconds=1)) == 0
    assert retry_due(api, timedelta(seconds=59)) == 0
    hmpps.down = hmpps.auth_down = False
    # The second failure put the next try off further: not due a minute later, due later on.
    assert retry_due(api, timedelta(seconds=61)) == 0
    assert retry_due(api, timedelta(minutes=5)) == 1
    assert retry_due(api, timedelta(hours=2)) == 0
    assert [e["event_id"] for e in timeline(api, NOMS)] == answer["events"]
    assert taken(api, envelope, hmpps_key, "duplicate") == answer["events"]
    rows = api.client.get("/v1/audit", params={"what": "HMPPS_EVENT"}, headers=api.admin).json()
    assert [r["details"]["outcome"] for r in rows["items"]] == ["pending"]


def _licence_key(api: Api, *event_types: str) -> tuple[str, dict[str, str]]:
    """A submitter key of HMPPS that may post these types: its id and headers."""
    body = key_body("HMPPS", "submitter", event_types=list(event_types))
    made = api.client.post("/v1/keys", json=body, headers=api.admin)
    assert made.status_code == 201, made.text
    return made.json()["key_id"], bearer(made.json()["secret"])


def _audited(api: Api) -> list[dict[str, Any]]:
    rows = api.client.get("/v1/audit", params={"what": "HMPPS_EVENT"}, headers=api.admin).json()
    details: list[dict[str, Any]] = [r["details"] for r in rows["items"]]
    return details


def test_a_key_that_may_not_post_licences_has_nothing_kept_pending(api: Api, hmpps: Hmpps) -> None:
    _, key = _licence_key(api, "prison.released")
    hmpps.down = True
    envelope = published.licence(
        "1001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
    )
    refused = send(api, envelope, key)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/event-type-not-allowed"
    hmpps.down = False
    assert send(api, envelope, key).status_code == 403
    # Refused before CVL or HMPPS Auth was asked, and nothing kept to retry.
    assert (hmpps.issued, hmpps.licence_reads, pending(api)) == ([], [], 0)
    assert retry_due(api, timedelta(hours=2)) == 0
    assert api.person("nomis", NOMS).status_code == 404
    # What the mapping makes is checked for every type: a reception is refused by ingest.
    reception = send(api, published.received(NOMS, "2026-03-20T09:00:00Z"), key)
    assert reception.json()["type"] == "/problems/event-type-not-allowed"
    assert taken(api, published.released(NOMS, "2026-03-02T10:15:00Z"), key)
    assert [d["outcome"] for d in _audited(api)] == ["refused", "refused"]
    assert counted(api) == {
        (ACTIVATED, "refused"): 2.0,
        ("prison-offender-events.prisoner.received", "refused"): 1.0,
        ("prison-offender-events.prisoner.released", "accepted"): 1.0,
    }


def test_a_refusal_is_counted_under_the_type_once_it_is_read(
    api: Api, hmpps_key: dict[str, str]
) -> None:
    assert send(api, published.released("NOT-A-NOMS", "2026-03-02T10:15:00Z"), hmpps_key).is_error
    unknown = {"eventType": "x.y.merged", "occurredAt": "not a time"}
    assert send(api, unknown, hmpps_key).status_code == 422
    no_type = api.client.post(PATH, content=b"not json", headers=hmpps_key)
    assert no_type.status_code == 400
    assert counted(api) == {
        ("prison-offender-events.prisoner.released", "refused"): 1.0,
        ("other", "refused"): 1.0,
        ("unread", "refused"): 1.0,
    }


@pytest.mark.parametrize("change", ["narrowed", "revoked"])
def test_a_pending_event_whose_key_may_no_longer_post_it_is_refused_at_its_retry(
    api: Api, hmpps: Hmpps, change: str
) -> None:
    key_id, key = _licence_key(api, "prison.released", "licence.activated")
    hmpps.licences["1001"] = published.cvl_licence("1001", CRN, NOMS)
    hmpps.down = True
    envelope = published.licence(
        "1001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
    )
    taken(api, envelope, key, "pending")
    if change == "narrowed":
        path = f"/v1/keys/{key_id}/event_types"
        narrowed = api.client.put(path, json=["prison.released"], headers=api.admin)
        assert narrowed.status_code == 200, narrowed.text
    else:
        assert api.client.delete(f"/v1/keys/{key_id}", headers=api.admin).status_code == 204
    hmpps.down = False
    assert retry_due(api, timedelta(minutes=5)) == 0
    # Refused once and for all: not stored, not retried, and the domain event in the audit row.
    assert pending(api) == 0
    assert api.person("nomis", NOMS).status_code == 404
    (refusal, parked) = _audited(api)
    assert (refusal["outcome"], refusal["envelope"]) == ("refused", envelope)
    assert parked["outcome"] == "pending"
    slug = "event-type-not-allowed" if change == "narrowed" else "forbidden"
    assert refusal["reason"].startswith(f"{slug}: ")
    assert retry_due(api, timedelta(hours=2)) == 0
    assert counted(api) == {(ACTIVATED, "pending"): 1.0, (ACTIVATED, "refused"): 1.0}


@pytest.mark.parametrize("by", ["retry", "redelivery"])
def test_a_pending_event_stored_meanwhile_is_no_longer_kept(
    api: Api, hmpps: Hmpps, hmpps_key: dict[str, str], by: str
) -> None:
    hmpps.licences["1001"] = published.cvl_licence("1001", CRN, NOMS)
    hmpps.down = True
    envelope = published.licence(
        "1001", "2026-02-20T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
    )
    (event_id,) = taken(api, envelope, hmpps_key, "pending")
    # Another delivery stores the very event meanwhile (here posted as it is, with its id).
    made = {
        "event_id": event_id,
        "type": "licence.activated",
        "occurred_on": "2026-02-20",
        "person": {"nomis": NOMS, "crn": CRN},
        "data": {"licence_id": "1001", "conditions": []},
    }
    assert api.post(made, hmpps_key).status_code == 201
    assert pending(api) == 1
    hmpps.down = False
    if by == "retry":
        assert retry_due(api, timedelta(minutes=5)) == 0
    else:
        assert taken(api, envelope, hmpps_key, "duplicate") == [event_id]
    assert pending(api) == 0
    assert retry_due(api, timedelta(hours=2)) == 0
    assert hmpps.licence_reads == []
    assert [e["event_id"] for e in timeline(api, NOMS)] == [event_id]
    assert counted(api) == {(ACTIVATED, "pending"): 1.0, (ACTIVATED, "duplicate"): 1.0}


def test_the_two_publishers_of_one_release_make_one_release(
    api: Api, hmpps_key: dict[str, str]
) -> None:
    # Midnight in London (BST): both publishers' timestamps fall on 2 June.
    taken(api, published.search_released(NOMS, "2026-06-01T23:30:00Z"), hmpps_key)
    taken(api, published.released(NOMS, "2026-06-02T00:30:05+01:00", code="CR"), hmpps_key)
    (record,) = releases_of(api, NOMS)
    assert (record["released_on"], record["release_type"]) == ("2026-06-02", "conditional_release")
    assert len(timeline(api, NOMS)) == 2


def test_a_prison_identifier_added_links_the_crn_with_the_noms_number(
    api: Api, hmpps_key: dict[str, str]
) -> None:
    taken(api, published.released(NOMS, "2026-03-02T10:15:00Z"), hmpps_key)
    person_id = api.person("nomis", NOMS).json()["person_id"]
    added = published.identifier_added(CRN, NOMS, "2026-03-01T09:00:00Z")
    (event_id,) = taken(api, added, hmpps_key)
    assert taken(api, added, hmpps_key, "duplicate") == [event_id]
    found = api.person("crn", CRN).json()
    assert found["person_id"] == person_id
    assert found["identifiers"] == {"nomis": NOMS, "crn": CRN}
    stored = api.client.get(f"/v1/events/{event_id}", headers=hmpps_key).json()
    assert (stored["type"], stored["data"]) == ("person.identified", {})


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"Type": "Something"}).encode(),
        json.dumps({"Type": "Notification", "Message": "not json"}).encode(),
        json.dumps({"eventType": "prison-offender-events.prisoner.released"}).encode(),
        json.dumps(published.released("NOT-A-NOMS", "2026-03-02T10:15:00Z")).encode(),
        json.dumps(published.released(NOMS, "2026-03-02T10:15:00Z", prison="MOORLAND")).encode(),
    ],
)
def test_bad_messages_are_problems_and_store_nothing(database_url: str, body: bytes) -> None:
    with running(database_url, sns_verify=False, inline_worker=False) as api:
        key = api.key("HMPPS", "submitter")
        answer = api.client.post(
            PATH, content=body, headers={**key, "Content-Type": "application/json"}
        )
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert api.person("nomis", NOMS).status_code == 404


def _by_hand(noms: str, crn: str) -> list[dict[str, Any]]:
    person = {"nomis": noms}
    both = {"nomis": noms, "crn": crn}
    conditions = [{"category": "drug_testing", "code": published.DRUG_TESTING}]
    return [
        {
            "event_id": "h1",
            "type": "prison.released",
            "occurred_on": "2026-03-02",
            "person": person,
            "data": {"prison": "MDI", "release_type": "conditional_release"},
        },
        {
            "event_id": "h2",
            "type": "licence.activated",
            "occurred_on": "2026-03-01",
            "person": both,
            "data": {"licence_id": "2001", "conditions": conditions},
        },
        {
            "event_id": "h3",
            "type": "prison.reception",
            "occurred_on": "2026-03-15",
            "person": person,
            "data": {"prison": "MDI", "reason": "recall"},
        },
        {
            "event_id": "h4",
            "type": "prison.released",
            "occurred_on": "2026-05-02",
            "person": person,
            "data": {"prison": "MDI", "release_type": "conditional_release"},
        },
    ]


def _comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ignored = {"release_id", "person_id", "identifiers"}
    return [{k: v for k, v in r.items() if k not in ignored} for r in records]


def test_a_stream_of_domain_events_gives_the_records_of_the_same_events_posted_by_hand(
    api: Api, hmpps: Hmpps, hmpps_key: dict[str, str], sns: SnsHost
) -> None:
    treatment = {
        "type": "prison.treatment.started",
        "occurred_on": "2026-01-15",
        "data": {"prison": "MDI", "substance_group": "opiate", "on_ost": True},
    }
    for event_id, noms in (("t1", NOMS), ("t2", OTHER_NOMS)):
        assert (
            api.post({**treatment, "event_id": event_id, "person": {"nomis": noms}}).status_code
            == 201
        )
    hmpps.licences["2001"] = published.cvl_licence(
        "2001", CRN, NOMS, {"code": published.DRUG_TESTING, "text": "Attend drug testing"}
    )
    stream = [
        published.released(NOMS, "2026-03-02T10:15:00Z", code="CR", with_reference=False),
        published.licence(
            "2001", "2026-03-01T12:00:00Z", crn=CRN, noms=NOMS, cvl_url=hmpps.cvl_url
        ),
        published.received(NOMS, "2026-03-15T18:00:00Z", cause="RECALL"),
        published.released(NOMS, "2026-05-02T09:00:00+01:00", code="CR"),
    ]
    for envelope in stream:
        taken(api, sns.sign(published.sns(envelope), "2"), hmpps_key)
    hand = api.batch(_by_hand(OTHER_NOMS, OTHER_CRN))
    assert hand.json()["accepted"] == 4, hand.text
    from_hmpps = releases_of(api, NOMS)
    assert len(from_hmpps) == 2
    assert _comparable(from_hmpps) == _comparable(releases_of(api, OTHER_NOMS))


def test_a_domain_event_naming_two_people_is_an_identity_conflict(
    api: Api, hmpps_key: dict[str, str]
) -> None:
    taken(api, published.released(NOMS, "2026-03-02T10:15:00Z"), hmpps_key)
    other = {"nomis": OTHER_NOMS, "crn": CRN}
    hand = {"event_id": "n1", "type": "naloxone.issued", "occurred_on": "2026-03-01"}
    assert api.post({**hand, "person": other}).status_code == 201
    inactivated = published.licence(
        "5001", "2026-03-03T10:00:00Z", crn=CRN, noms=NOMS, state="inactivated"
    )
    answer = send(api, inactivated, hmpps_key)
    assert answer.status_code == 409, answer.text
    assert answer.json()["type"] == "/problems/identity-conflict"
    assert [e["type"] for e in timeline(api, NOMS)] == ["prison.released"]
    assert [e["type"] for e in timeline(api, OTHER_NOMS)] == ["naloxone.issued"]
