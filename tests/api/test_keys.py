"""Keys and roles (CONTRACT §2): who may call what, and how keys are issued and revoked."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.db.engine import sync_url
from app.domain.vocabulary import EventType
from tests.support.api import ADMIN_SECRET, Api, bearer, running
from tests.support.envelopes import assert_invalid, assert_problem, event, nomis

ADMIN_ORG = "JOINUP-ADMIN"


def create_key(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    if "submitter" in body["roles"]:
        body = {"event_types": [str(kind) for kind in EventType], **body}
    answer = api.client.post("/v1/keys", json=body, headers=api.admin)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def listed(api: Api) -> list[dict[str, Any]]:
    answer = api.client.get("/v1/keys", headers=api.admin)
    assert answer.status_code == 200, answer.text
    keys: list[dict[str, Any]] = answer.json()
    return keys


def test_admin_creates_a_key_and_its_secret_works(api: Api) -> None:
    body = {"org": "PROVIDER-X", "roles": ["submitter", "probation"], "label": "wigan feed"}
    created = create_key(api, body)
    assert created["org"] == "PROVIDER-X"
    assert sorted(created["roles"]) == ["probation", "submitter"]
    assert created["key_id"] and created["secret"] not in ("", ADMIN_SECRET)
    headers = bearer(created["secret"])
    assert api.post(event(), headers=headers).status_code == 201
    view = api.client.get(f"/v1/people/nomis/{nomis()}", headers=headers)
    assert view.json()["identifiers"] == {"nomis": nomis()}


def test_key_created_at_carries_its_utc_offset(api: Api) -> None:
    created_at = listed(api)[0]["created_at"]
    assert datetime.fromisoformat(created_at).utcoffset() == timedelta(0)


def test_each_key_gets_its_own_secret(api: Api) -> None:
    first = create_key(api, {"org": "PROVIDER-X", "roles": ["submitter"]})
    second = create_key(api, {"org": "PROVIDER-X", "roles": ["submitter"]})
    assert first["key_id"] != second["key_id"]
    assert first["secret"] != second["secret"]


def test_listing_shows_keys_without_secrets_or_hashes(api: Api) -> None:
    created = create_key(api, {"org": "PROVIDER-X", "roles": ["coordinator"], "label": "dash"})
    keys = listed(api)
    entry = next(k for k in keys if k["key_id"] == created["key_id"])
    assert entry["org"] == "PROVIDER-X"
    assert entry["roles"] == ["coordinator"]
    assert entry["label"] == "dash"
    text = api.client.get("/v1/keys", headers=api.admin).text
    for secret in (created["secret"], ADMIN_SECRET):
        assert secret not in text
        assert hashlib.sha256(secret.encode()).hexdigest() not in text
    assert all("secret" not in k and "secret_hash" not in k for k in keys)


def test_deleted_key_is_refused_at_once_and_cannot_be_deleted_again(api: Api) -> None:
    created = create_key(api, {"org": "PROVIDER-X", "roles": ["submitter"]})
    headers = bearer(created["secret"])
    assert api.post(event(), headers=headers).status_code == 201
    path = f"/v1/keys/{created['key_id']}"
    gone = api.client.delete(path, headers=api.admin)
    assert gone.status_code == 204
    assert gone.content == b""
    assert_problem(api.client.get("/v1/events/ev-1", headers=headers), 401, "unauthorized")
    assert_problem(api.client.delete(path, headers=api.admin), 404, "not-found")
    assert created["key_id"] not in [k["key_id"] for k in listed(api)]


def test_a_key_revoked_through_one_app_is_refused_at_once_by_another_in_the_process(
    database_url: str,
) -> None:
    with running(database_url) as first, running(database_url) as second:
        created = create_key(first, {"org": "PROVIDER-X", "roles": ["submitter"]})
        headers = bearer(created["secret"])
        for api in (first, second):
            assert api.client.get("/v1/events/ev-1", headers=headers).status_code == 404
        gone = second.client.delete(f"/v1/keys/{created['key_id']}", headers=second.admin)
        assert gone.status_code == 204
        for api in (first, second):
            assert_problem(api.client.get("/v1/events/ev-1", headers=headers), 401, "unauthorized")


def _revoke_behind_its_back(database_url: str, key_id: str) -> None:
    """Revoke as another process or machine would: in the database, unseen by this process."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            query = "UPDATE api_key SET revoked_at = CURRENT_TIMESTAMP WHERE key_id = :key_id"
            conn.execute(text(query), {"key_id": key_id})
    finally:
        engine.dispose()


def test_a_key_revoked_by_another_process_is_refused_here_at_once(database_url: str) -> None:
    with running(database_url) as api:
        created = create_key(api, {"org": "PROVIDER-X", "roles": ["submitter"]})
        headers = bearer(created["secret"])
        assert api.client.get("/v1/events/ev-1", headers=headers).status_code == 404
        _revoke_behind_its_back(database_url, created["key_id"])
        assert api.client.get("/v1/events/ev-1", headers=headers).status_code == 401


def test_deleting_an_unknown_key_is_not_found(api: Api) -> None:
    assert_problem(api.client.delete("/v1/keys/nosuchkey", headers=api.admin), 404, "not-found")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {ADMIN_SECRET}"},
        {"Authorization": ADMIN_SECRET},
        {"Authorization": "Bearer not-a-key-we-issued"},
        {"Authorization": f"Bearer {ADMIN_SECRET}x"},
    ],
    ids=["none", "empty", "scheme-only", "scheme-space", "basic", "no-scheme", "unknown", "near"],
)
def test_missing_malformed_or_unknown_key_is_401(api: Api, headers: dict[str, str]) -> None:
    for method, path in [("GET", "/v1/keys"), ("POST", "/v1/events"), ("GET", "/v1/releases")]:
        answer = api.client.request(method, path, headers=headers, json=event())
        assert_problem(answer, 401, "unauthorized")
        assert answer.headers["www-authenticate"].lower().startswith("bearer")


def test_unauthorised_post_stores_nothing(api: Api) -> None:
    answer = api.client.post("/v1/events", json=event(), headers=bearer("unknown"))
    assert_problem(answer, 401, "unauthorized")
    assert_problem(api.person("nomis", nomis()), 404, "not-found")


FORBIDDEN = [
    ("submitter", "GET", "/v1/people/nomis/A0001BC"),
    ("submitter", "GET", "/v1/people/nomis/A0001BC/timeline"),
    ("submitter", "GET", "/v1/releases"),
    ("submitter", "GET", "/v1/metrics/continuity"),
    ("submitter", "GET", "/v1/keys"),
    ("probation", "GET", "/v1/releases"),
    ("probation", "GET", "/v1/metrics/continuity"),
    ("probation", "POST", "/v1/events"),
    ("probation", "GET", "/v1/events/ev-1"),
    ("coordinator", "POST", "/v1/events"),
    ("coordinator", "POST", "/v1/events/batch"),
    ("coordinator", "GET", "/v1/events/ev-1"),
    ("coordinator", "POST", "/v1/events/ev-1/retraction"),
    ("coordinator", "GET", "/v1/keys"),
    ("coordinator", "POST", "/v1/keys"),
    ("coordinator", "DELETE", "/v1/keys/abc"),
    ("admin", "POST", "/v1/events"),
    ("admin", "GET", "/v1/people/nomis/A0001BC"),
    ("admin", "GET", "/v1/releases"),
]


@pytest.mark.parametrize(("role", "method", "path"), FORBIDDEN)
def test_a_key_without_the_role_is_403(api: Api, role: str, method: str, path: str) -> None:
    api.post(event())
    body = {"events": [event("prison.released", "ev-2")]} if "batch" in path else event()
    if path == "/v1/keys":
        body = {"org": "X", "roles": ["admin"]}
    if path.endswith("retraction"):
        body = {"reason": "wrong person"}
    answer = api.client.request(method, path, headers=getattr(api, role), json=body)
    assert_problem(answer, 403, "forbidden")


def test_forbidden_post_stores_nothing(api: Api) -> None:
    answer = api.post(event(person={"nomis": nomis(9)}), headers=api.coordinator)
    assert_problem(answer, 403, "forbidden")
    assert_problem(api.person("nomis", nomis(9)), 404, "not-found")
    assert_problem(api.client.get("/v1/events/ev-1", headers=api.submitter), 404, "not-found")


def test_forbidden_key_creation_creates_nothing(api: Api) -> None:
    headers = api.coordinator
    before = listed(api)
    body = {"org": "EVIL", "roles": ["admin"]}
    assert_problem(api.client.post("/v1/keys", json=body, headers=headers), 403, "forbidden")
    assert listed(api) == before


ALLOWED = [
    ("probation", "/v1/people/nomis/A0001BC"),
    ("probation", "/v1/people/nomis/A0001BC/timeline"),
    ("coordinator", "/v1/people/nomis/A0001BC"),
    ("coordinator", "/v1/people/nomis/A0001BC/timeline"),
    ("coordinator", "/v1/releases"),
    ("coordinator", "/v1/metrics/continuity"),
    ("submitter", "/v1/events/ev-1"),
    ("admin", "/v1/keys"),
]


@pytest.mark.parametrize(("role", "path"), ALLOWED)
def test_a_key_with_the_role_is_served(api: Api, role: str, path: str) -> None:
    assert api.post(event()).status_code == 201
    answer = api.client.get(path, headers=getattr(api, role))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"


def test_a_key_with_several_roles_may_do_each(api: Api) -> None:
    created = create_key(api, {"org": "PROVIDER-X", "roles": ["submitter", "coordinator"]})
    headers = bearer(created["secret"])
    assert api.post(event(), headers=headers).status_code == 201
    assert api.client.get("/v1/releases", headers=headers).status_code == 200
    assert_problem(api.client.get("/v1/keys", headers=headers), 403, "forbidden")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
def test_public_paths_need_no_key(api: Api, path: str) -> None:
    answer = api.client.get(path)
    assert answer.status_code == 200, answer.text
    if path == "/openapi.json":
        assert "/v1/events" in answer.json()["paths"]
    elif path == "/docs":
        assert "text/html" in answer.headers["content-type"]
    else:
        assert answer.json()["status"] in ("ok", "ready")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"org": "PROVIDER-X", "roles": ["superuser"]}, ("roles", 0)),
        ({"org": "PROVIDER-X", "roles": []}, ("roles",)),
        ({"org": "PROVIDER-X", "roles": "submitter"}, ("roles",)),
        ({"org": "PROVIDER-X", "roles": ["submitter"], "colour": "red"}, ("colour",)),
        ({"roles": ["submitter"]}, ("org",)),
        ({"org": "", "roles": ["submitter"]}, ("org",)),
        ({"org": "PROVIDER-X"}, ("roles",)),
        ({"org": "PROVIDER-X", "roles": ["submitter"], "label": "x" * 10_000}, ("label",)),
    ],
    ids=[
        "unknown-role",
        "empty-roles",
        "roles-not-list",
        "extra-field",
        "no-org",
        "empty-org",
        "no-roles",
        "huge-label",
    ],
)
def test_bad_key_bodies_are_422(api: Api, body: dict[str, Any], field: tuple[Any, ...]) -> None:
    before = listed(api)
    assert_invalid(api.client.post("/v1/keys", json=body, headers=api.admin), *field)
    assert listed(api) == before


def test_configured_admin_key_is_registered_once(database_url: str) -> None:
    for _ in range(2):
        with running(database_url) as api:
            admins = [k for k in listed(api) if k["org"] == ADMIN_ORG]
            assert len(admins) == 1
            assert admins[0]["roles"] == ["admin"]
