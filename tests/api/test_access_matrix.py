"""Who may call what: every endpoint x every caller (each role, scoped and unscoped, no key, a
revoked key) -> 401, 403, or served, and for a scoped reader, served only what its scope admits.

One data set per database serves the whole module (posting it for each of the hundreds of cases
would be most of the run). The cases that write keep clear of it: they post events about a
person with no release, retract one of that person's events (harmless to repeat) and revoke or
re-scope keys made for the case.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from httpx import Response

from tests.conftest import empty
from tests.support.api import Api, running
from tests.support.envelopes import assert_problem, event, nomis
from tests.support.scoped import (
    AS_OF,
    BOTH,
    LPI_ONLY,
    RELEASES,
    SUBMITTER_ORG,
    pairs,
    post_all,
    scoped_key,
)

ROLES = ("submitter", "probation", "coordinator", "admin")
SCOPE = {"prisons": ["MDI"]}
# Within SCOPE: a scoped admin manages only keys within its own scope (CONTRACT §2.1).
NARROWER = {"prisons": ["MDI"], "probation_regions": ["North West"]}
BYSTANDER = nomis(90)  # no release: writes about this person change no read of the data set
ALL_PAIRS = sorted((prison, on) for _, prison, on, _ in RELEASES)
MDI_PAIRS = sorted(p for p in ALL_PAIRS if p[0] == "MDI")


@dataclass
class World:
    api: Api
    callers: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    url, engine = request.getfixturevalue(f"{request.param}_database")
    empty(engine)
    with running(url) as api:
        post_all(api)
        bystander = event("naloxone.issued", "bystander-nal", person={"nomis": BYSTANDER})
        assert api.post(bystander).status_code == 201
        yield World(api, _callers(api))


def _callers(api: Api) -> dict[str, dict[str, str]]:
    callers: dict[str, dict[str, str]] = {"none": {}}
    for role in ROLES:
        org = SUBMITTER_ORG if role == "submitter" else f"ORG-{role.upper()}"
        callers[role] = scoped_key(api, None, role, org=org)[1]
        callers[f"scoped {role}"] = scoped_key(api, SCOPE, role, org=org)[1]
    for name, scope in (("revoked", None), ("scoped revoked", SCOPE)):
        key_id, callers[name] = scoped_key(api, scope, *ROLES, org=SUBMITTER_ORG)
        assert api.client.delete(f"/v1/keys/{key_id}", headers=api.admin).status_code == 204
    return callers


# -- what a served answer must hold, for an unscoped and a scoped caller ------------------------


def _listed(answer: Response, scoped: bool) -> None:
    assert sorted(pairs(answer.json()["items"])) == (MDI_PAIRS if scoped else ALL_PAIRS)


def _csv(answer: Response, scoped: bool) -> None:
    assert answer.headers["content-type"].startswith("text/csv")
    rows = csv.DictReader(io.StringIO(answer.text))
    assert sorted((r["prison"], r["released_on"]) for r in rows) == (
        MDI_PAIRS if scoped else ALL_PAIRS
    )


def _counted(answer: Response, scoped: bool) -> None:
    cohort = [p for p in RELEASES if p[3] and (not scoped or p[1] == "MDI")]
    assert answer.json()["total"]["released_in_treatment"] == len(cohort)


def _handover(answer: Response, scoped: bool) -> None:
    mdi = [("MDI", "2026-01-10")]
    assert pairs(answer.json()["releases"]) == (mdi if scoped else [("LPI", "2026-04-01"), *mdi])


def _timeline(answer: Response, scoped: bool) -> None:
    # A scoped key sees the events dated in its MDI release's span, before the LPI release.
    shown = [event["event_id"] for event in answer.json()["events"]]
    if scoped:
        assert shown == ["both-tx1", "both-rel1", "both-tx2"]
    else:
        assert len(shown) == 5


def _batch(answer: Response, scoped: bool) -> None:
    assert answer.json()["accepted"] == 1


def _scope_set(answer: Response, scoped: bool) -> None:
    assert answer.json()["scope"] == NARROWER


def _types_set(answer: Response, scoped: bool) -> None:
    assert answer.json()["event_types"] == ["person.died"]


def _keys_listed(answer: Response, scoped: bool) -> None:
    assert SCOPE in [key["scope"] for key in answer.json()]


def _audit_read(answer: Response, scoped: bool) -> None:
    # The trail is not scoped: an admin key reads all of it.
    items = answer.json()["items"]
    assert items and {item["service"] for item in items} == {"joinup"}


def _exported(answer: Response, scoped: bool) -> None:
    # Once the person is in scope, a scoped key sees all of their data, as with the timeline.
    assert len(answer.json()["events"]) == 5
    assert len(answer.json()["releases"]) == 2


def _changes(answer: Response, scoped: bool) -> None:
    prisons = {change["prison"] for change in answer.json()["items"]}
    assert prisons == {"MDI"} if scoped else {"MDI", "LPI"} < prisons


# -- the endpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {key_id}: a key made for the case; {event_id}: an event id new to the case
    roles: tuple[str, ...]  # the roles that are served
    status: int
    check: Callable[[Response, bool], None] | None = None
    body: Callable[[str], Any] | None = None
    # The answer to a scoped caller when the scope hides what the path names.
    hidden: bool = False
    params: dict[str, str] = field(default_factory=dict)


def _one_event(event_id: str) -> dict[str, Any]:
    return event("naloxone.issued", event_id, person={"nomis": BYSTANDER})


READERS = ("probation", "coordinator")
MANAGERS = (*READERS, "admin")
HOOK = "https://hooks.example.org/joinup"
ENDPOINTS = {
    "post event": Endpoint("POST", "/v1/events", ("submitter",), 201, body=_one_event),
    "post batch": Endpoint(
        "POST",
        "/v1/events/batch",
        ("submitter",),
        200,
        _batch,
        body=lambda event_id: {"events": [_one_event(event_id)]},
    ),
    "get event": Endpoint("GET", "/v1/events/mdi-rel", ("submitter",), 200),
    "list events": Endpoint("GET", "/v1/events", ("submitter",), 200),
    "dry run": Endpoint(
        "POST", "/v1/events", ("submitter",), 200, body=_one_event, params={"dry_run": "true"}
    ),
    "retract event": Endpoint(
        "POST",
        "/v1/events/bystander-nal/retraction",
        ("submitter",),
        200,
        body=lambda _: {"reason": "posted for the wrong person"},
    ),
    "hmpps domain event": Endpoint(
        "POST",
        "/v1/integrations/hmpps/events",
        ("submitter",),
        200,
        body=lambda _: {"eventType": "test.unused", "occurredAt": "2026-03-02T10:00:00Z"},
    ),
    "handover": Endpoint("GET", f"/v1/people/nomis/{BOTH}", READERS, 200, _handover),
    "handover out of scope": Endpoint(
        "GET", f"/v1/people/nomis/{LPI_ONLY}", READERS, 200, hidden=True
    ),
    "timeline": Endpoint("GET", f"/v1/people/nomis/{BOTH}/timeline", READERS, 200, _timeline),
    "timeline out of scope": Endpoint(
        "GET", f"/v1/people/nomis/{LPI_ONLY}/timeline", READERS, 200, hidden=True
    ),
    "releases json": Endpoint("GET", "/v1/releases", ("coordinator",), 200, _listed),
    "releases csv": Endpoint(
        "GET", "/v1/releases", ("coordinator",), 200, _csv, params={"format": "csv"}
    ),
    "metrics": Endpoint("GET", "/v1/metrics/continuity", ("coordinator",), 200, _counted),
    "metrics csv": Endpoint(
        "GET", "/v1/metrics/continuity", ("coordinator",), 200, params={"format": "csv"}
    ),
    "create key": Endpoint(
        "POST",
        "/v1/keys",
        ("admin",),
        201,
        body=lambda _: {"org": "X", "roles": ["probation"], "scope": SCOPE},
    ),
    "list keys": Endpoint("GET", "/v1/keys", ("admin",), 200, _keys_listed),
    "audit": Endpoint("GET", "/v1/audit", ("admin",), 200, _audit_read),
    "subject export": Endpoint(
        "GET", f"/v1/people/nomis/{BOTH}/export", ("admin",), 200, _exported
    ),
    "subject export out of scope": Endpoint(
        "GET", f"/v1/people/nomis/{LPI_ONLY}/export", ("admin",), 200, hidden=True
    ),
    "revoke key": Endpoint("DELETE", "/v1/keys/{key_id}", ("admin",), 204),
    "changes": Endpoint("GET", "/v1/changes", READERS, 200, _changes),
    "subscribe": Endpoint("POST", "/v1/subscriptions", READERS, 201, body=lambda _: {"url": HOOK}),
    "list subscriptions": Endpoint("GET", "/v1/subscriptions", MANAGERS, 200),
    "read subscription": Endpoint("GET", "/v1/subscriptions/{subscription_id}", MANAGERS, 200),
    "delete subscription": Endpoint("DELETE", "/v1/subscriptions/{subscription_id}", MANAGERS, 204),
    "deliveries": Endpoint("GET", "/v1/subscriptions/{subscription_id}/deliveries", MANAGERS, 200),
    "enable subscription": Endpoint(
        "POST", "/v1/subscriptions/{subscription_id}/enable", MANAGERS, 200
    ),
    "set scope": Endpoint(
        "PUT",
        "/v1/keys/{key_id}/scope",
        ("admin",),
        200,
        _scope_set,
        body=lambda _: NARROWER,
    ),
    "set event types": Endpoint(
        "PUT",
        "/v1/keys/{key_id}/event_types",
        ("admin",),
        200,
        _types_set,
        body=lambda _: ["person.died"],
    ),
}
CALLERS = (*ROLES, *(f"scoped {role}" for role in ROLES), "none", "revoked", "scoped revoked")


def expected(endpoint: Endpoint, caller: str) -> int:
    """The status the matrix requires: 401 without a working key, 403 without the role."""
    role = caller.removeprefix("scoped ")
    if role in ("none", "revoked"):
        return 401
    if role not in endpoint.roles:
        return 403
    if endpoint.hidden and caller.startswith("scoped "):
        return 404
    return endpoint.status


MATRIX = [(name, caller) for name in ENDPOINTS for caller in CALLERS]


@pytest.mark.parametrize(("name", "caller"), MATRIX, ids=[f"{n}-{c}" for n, c in MATRIX])
def test_access(world: World, name: str, caller: str) -> None:
    endpoint = ENDPOINTS[name]
    answer = _call(world, endpoint, world.callers[caller])
    status = expected(endpoint, caller)
    if status >= 400:
        slug = {401: "unauthorized", 403: "forbidden", 404: "not-found"}[status]
        assert_problem(answer, status, slug)
    else:
        assert answer.status_code == status, answer.text
        if endpoint.check is not None:
            endpoint.check(answer, caller.startswith("scoped "))


def _call(world: World, endpoint: Endpoint, headers: dict[str, str]) -> Response:
    api = world.api
    path = endpoint.path
    if "{key_id}" in path:
        path = path.format(key_id=scoped_key(api, SCOPE, "submitter")[0])
    if "{subscription_id}" in path:
        path = path.format(subscription_id=_subscription(world, headers))
    body = endpoint.body(f"case-{uuid.uuid4().hex[:12]}") if endpoint.body else None
    params = {**endpoint.params}
    # The reads that derive records take the date (every other operation refuses it, 422).
    dated = path.startswith(("/v1/releases", "/v1/metrics", "/v1/people"))
    if endpoint.method == "GET" and dated and not path.endswith("/export"):
        params.setdefault("as_of", AS_OF)
    answer: Response = api.client.request(
        endpoint.method, path, json=body, params=params, headers=headers
    )
    return answer


def _subscription(world: World, headers: dict[str, str]) -> str:
    """A subscription of the caller's organisation; for other callers, one a coordinator within
    SCOPE made, which a scoped admin may manage as well as an unscoped one."""
    api = world.api
    made = api.client.post("/v1/subscriptions", json={"url": HOOK}, headers=headers)
    if made.status_code != 201:
        within = scoped_key(api, SCOPE, "coordinator", org="COORD-MDI")[1]
        made = api.client.post("/v1/subscriptions", json={"url": HOOK}, headers=within)
    assert made.status_code == 201, made.text
    return str(made.json()["subscription_id"])


def test_the_matrix_covers_every_v1_operation(world: World) -> None:
    spec = world.api.client.get("/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method in item
    }
    covered = {
        (method, path)
        for method, path in operations
        for e in ENDPOINTS.values()
        if e.method == method and re.fullmatch(re.sub(r"{[^}]+}", "[^/]+", path), e.path)
    }
    assert covered == operations
