"""Hostile input (CONTRACT §6): injection strings, NULs, traversal, very long unicode, odd
bodies, headers and content types, in every field, path and query parameter.

Each is either refused with a 4xx problem, leaving every table byte-for-byte as it was (audit
lines aside: a refusal is audited), or, where the string is valid data (a free-text name or
code in `data`, a free-text filter), taken as data: stored verbatim and answered as JSON text.
`test_errors.py` covers malformed JSON, size limits, deep nesting and huge strings; this module
adds the strings an attacker would try and the check that a refusal changed nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from httpx import Response

from tests.api.test_errors import TEXT_FIELDS, put
from tests.support.api import Api, as_bytes, bearer, key_body, running
from tests.support.envelopes import (
    PROBLEM_JSON,
    assert_invalid,
    assert_problem,
    event,
    nomis,
    pnc,
)
from tests.support.tables import Dump, assert_unchanged, dump

HOSTILE = {
    "sql": "'; DROP TABLE event; --",
    "script": "<script>alert(1)</script>",
    "nul": "\u0000",
    "nul-inside": "MDI\u0000x",
    "traversal": "../../etc/passwd",
    "template": "${jndi:ldap://x/a}{{7*7}}%s%n",
    "bidi": "\u202eMDI\u200b",
    "long-unicode": "ü🙂\u202e" * 700,  # 2,100 characters, 19 kB in a URL
}
# `data` fields that hold a free-text name or code (1-100 characters, no control characters):
# the strings above that fit are data, stored as sent. Prisons, regions and local authorities
# are vocabularies (CONTRACT §3.1), so every hostile string is refused there.
FREE_TEXT = {
    ("prison.released", ("data", "community_provider")),
    ("licence.activated", ("data", "licence_id")),
    ("licence.activated", ("data", "conditions", 0, "code")),
    ("licence.inactivated", ("data", "licence_id")),
    ("community.referral.received", ("data", "provider")),
    ("community.treatment.started", ("data", "provider")),
    ("community.treatment.exited", ("data", "provider")),
}
VALID_TEXT = {"sql", "script", "traversal", "template", "bidi"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def seeded(api: Api) -> Iterator[Api]:
    """Every key made and some history stored, so that there is something to damage."""
    for role in ("submitter", "other_submitter", "probation", "coordinator"):
        getattr(api, role)
    person = {"nomis": nomis(), "crn": "X000001"}
    for body in (
        event("prison.treatment.started", "tr-1", person=person, occurred_on="2026-01-15"),
        event("prison.released", "rel-1", person=person),
        event("community.treatment.started", "cts-1", person=person, occurred_on="2026-03-09"),
        event("naloxone.issued", "nal-1", person=person),
    ):
        assert api.post(body).status_code == 201
    answer = api.client.post(
        "/v1/events/nal-1/retraction", json={"reason": "wrong person"}, headers=api.submitter
    )
    assert answer.status_code == 200
    yield api


def assert_refused(answer: Response) -> None:
    assert 400 <= answer.status_code < 500, (answer.request.url, answer.text[:500])
    assert answer.headers["content-type"].split(";")[0] == PROBLEM_JSON
    assert_problem(answer, answer.status_code)


# --- every text field of every event type -------------------------------------------------


def _refused_everywhere(api: Api, body: dict[str, Any], field: tuple[Any, ...]) -> None:
    assert_invalid(api.post(body), *(field if field != ("type",) else ()))
    batch = api.batch([body]).json()
    assert (batch["rejected"], batch["results"][0]["problem"]["status"]) == (1, 422)
    assert api.batch([body], atomic=True).status_code == 422


def _stored_verbatim(api: Api, body: dict[str, Any], field: tuple[Any, ...], sent: str) -> None:
    answer = api.post(body)
    assert answer.status_code == 201, answer.text
    read = api.client.get(f"/v1/events/{body['event_id']}", headers=api.submitter)
    assert read.headers["content-type"] == "application/json"
    stored: Any = read.json()
    for part in field:
        stored = stored[part]
    assert stored == sent.strip()
    # Rendered as a JSON string, never as markup: the bytes are the JSON encoding of the text.
    assert orjson.dumps(sent.strip()) in read.content


@pytest.mark.parametrize(("type_", "field"), TEXT_FIELDS, ids=str)
def test_hostile_strings_in_every_text_field(
    seeded: Api, database_url: str, type_: str, field: tuple[Any, ...]
) -> None:
    free = (type_, field) in FREE_TEXT
    before = dump(database_url)
    for name, value in HOSTILE.items():
        if not (free and name in VALID_TEXT):
            body = event(type_, f"h-{name}", person={"nomis": nomis(2)})
            put(body, field, value)
            _refused_everywhere(seeded, body, field)
    assert_unchanged(before, dump(database_url))
    if free:
        for name in sorted(VALID_TEXT):
            body = event(type_, f"ok-{name}", person={"nomis": nomis(3)})
            put(body, field, HOSTILE[name])
            _stored_verbatim(seeded, body, field, HOSTILE[name])


def test_hostile_text_in_a_release_is_found_by_its_filter_and_shown_as_text(seeded: Api) -> None:
    field = "community_provider"
    for n, name in enumerate(sorted(VALID_TEXT), start=10):
        body = event(event_id=f"rel-{name}", person={"nomis": nomis(n)}, **{field: HOSTILE[name]})
        assert seeded.post(body).status_code == 201
        page = seeded.releases(**{field: HOSTILE[name], "as_of": "2026-03-05"}).json()
        assert [item[field] for item in page["items"]] == [HOSTILE[name].strip()]
        person = seeded.person("nomis", nomis(n))
        assert person.json()["releases"][0][field] == HOSTILE[name].strip()
    everything = seeded.releases(as_of="2026-03-05")
    assert everything.status_code == 200 and len(everything.json()["items"]) == 6


@pytest.mark.parametrize("field", ["prison", "probation_region", "local_authority"])
def test_hostile_text_is_no_place(seeded: Api, database_url: str, field: str) -> None:
    before = dump(database_url)
    for n, name in enumerate(sorted(VALID_TEXT), start=10):
        body = event(event_id=f"rel-{name}", person={"nomis": nomis(n)}, **{field: HOSTILE[name]})
        assert_invalid(seeded.post(body), "data", field)
    assert_unchanged(before, dump(database_url))


# --- path parameters ----------------------------------------------------------------------

PATH_TARGETS = [
    ("GET", "/v1/events/{}", "submitter"),
    ("POST", "/v1/events/{}/retraction", "submitter"),
    ("GET", "/v1/people/nomis/{}", "probation"),
    ("GET", "/v1/people/pnc/{}/timeline", "coordinator"),
    ("GET", "/v1/people/{}/A0001BC", "probation"),
    ("GET", "/v1/people/{}/A0001BC/timeline", "probation"),
    ("DELETE", "/v1/keys/{}", "admin"),
]


def _in_path(value: str) -> list[str]:
    """The value percent-encoded whole, and with its slashes left as they are."""
    return sorted({quote(value, safe=""), quote(value, safe="/")})


@pytest.mark.parametrize(("method", "template", "role"), PATH_TARGETS, ids=str)
def test_hostile_path_parameters_are_refused(
    seeded: Api, database_url: str, method: str, template: str, role: str
) -> None:
    before = dump(database_url)
    values = [*HOSTILE.values(), "..", ".", "%2e%2e%2f", "A0001BC%00", " ", "ev-1\r\nX-Evil: 1"]
    for value in values:
        for encoded in _in_path(value):
            answer = seeded.client.request(
                method,
                template.format(encoded),
                headers={**getattr(seeded, role), **JSON},
                content=b'{"reason": "hostile"}' if method == "POST" else None,
            )
            if (method, answer.url.path) == ("GET", "/v1/events"):
                # The client reads `/v1/events/.` as `/v1/events/`, sent on to the caller's list.
                assert answer.status_code == 200 and "items" in answer.json()
                continue
            assert_refused(answer)
    assert_unchanged(before, dump(database_url))


# --- query parameters ---------------------------------------------------------------------

FREE_FILTERS = {"community_provider"}
QUERY_TARGETS = [
    ("/v1/releases", name)
    for name in (
        *sorted(FREE_FILTERS),
        "stage",
        "flag",
        "as_of",
        "cursor",
        "released_from",
        "released_to",
        "limit",
        "format",
    )
] + [
    ("/v1/metrics/continuity", "released_from"),
    ("/v1/metrics/continuity", "as_of"),
    ("/v1/metrics/continuity", "group_by"),
    ("/v1/people/nomis/A0001BC", "as_of"),
    ("/v1/people/nomis/A0001BC/timeline", "as_of"),
]


@pytest.mark.parametrize(("path", "name"), QUERY_TARGETS, ids=str)
def test_hostile_query_parameters_are_refused_or_taken_as_text(
    seeded: Api, database_url: str, path: str, name: str
) -> None:
    before = dump(database_url)
    for key, value in HOSTILE.items():
        for accept in ("application/json", "text/csv"):
            headers = {**seeded.coordinator, "Accept": accept}
            answer = seeded.client.get(path, params={name: value}, headers=headers)
            if name in FREE_FILTERS and "\u0000" not in value:
                assert answer.status_code == 200, (key, answer.text[:300])
                if accept == "application/json":
                    assert answer.json()["items"] == []
                else:
                    assert answer.text.count("\n") == 1  # the header row alone
            else:
                assert_refused(answer)
    assert_unchanged(before, dump(database_url))


# --- headers ------------------------------------------------------------------------------


def test_hostile_authorization_headers_are_401(seeded: Api, database_url: str) -> None:
    before = dump(database_url)
    secret = seeded.submitter["Authorization"].split()[1]
    hostile: list[str | bytes] = [
        "Bearer " + "A" * 100_000,
        "Bearer '; DROP TABLE api_key; --",
        "Bearer ' OR '1'='1",
        "Bearer <script>alert(1)</script>",
        "Bearer " + secret[:-1],
        "Bearer " + secret.upper(),
        "Bearer",
        "Bearer ",
        "Basic " + secret,
        "bearer" + secret,
        secret,
        b"Bearer \xff\xfe",
        "Bearer \u00ff\u00fe".encode(),
    ]
    for authorization in hostile:
        headers = [
            (b"Authorization", as_bytes(authorization)),
            (b"Content-Type", b"application/json"),
        ]
        for answer in (
            seeded.client.get("/v1/events/tr-1", headers=headers),
            seeded.client.post(
                "/v1/events", content=orjson.dumps(event(event_id="x")), headers=headers
            ),
        ):
            assert_problem(answer, 401, "unauthorized")
    assert_unchanged(before, dump(database_url))


def test_many_headers_and_odd_request_ids_are_harmless(seeded: Api) -> None:
    many = [(f"X-Junk-{n}", "x" * 100) for n in range(1000)]
    answer = seeded.client.get("/v1/events/tr-1", headers=[*seeded.submitter.items(), *many])
    assert answer.status_code == 200
    odd: list[str | bytes] = ["x" * 10_000, "'; DROP TABLE audit; --", "<script>", "../.."]
    for request_id in [*odd, "é".encode(), b"\xff"]:
        answer = seeded.client.get(
            "/v1/events/tr-1",
            headers=[
                *((name.encode(), value.encode()) for name, value in seeded.submitter.items()),
                (b"X-Request-ID", as_bytes(request_id)),
            ],
        )
        assert answer.status_code == 200
        assert answer.headers["x-request-id"] != request_id
        assert len(answer.headers["x-request-id"]) == 32


def test_two_authorization_headers_never_crash(seeded: Api) -> None:
    for pair in (
        [seeded.submitter["Authorization"], "Bearer nope"],
        ["Bearer nope", seeded.submitter["Authorization"]],
    ):
        headers = [("Authorization", value) for value in pair]
        answer = seeded.client.get("/v1/events/tr-1", headers=headers)
        assert answer.status_code in (200, 401), answer.text


@pytest.mark.parametrize(
    "content_type",
    [
        "application/xml",
        "text/html",
        "multipart/form-data; boundary=x",
        "application/javascript",
        "application/jsonx",
        "json",
        "",
        "*/*",
        "application/x-" + "j" * 10_000,
    ],
)
def test_a_wrong_content_type_is_415_and_stores_nothing(
    seeded: Api, database_url: str, content_type: str
) -> None:
    before = dump(database_url)
    routes = [
        ("/v1/events", orjson.dumps(event(event_id="ct-1")), seeded.submitter),
        ("/v1/events/batch", orjson.dumps({"events": [event(event_id="ct-2")]}), seeded.submitter),
        ("/v1/keys", orjson.dumps({"org": "X", "roles": ["admin"]}), seeded.admin),
        ("/v1/events/tr-1/retraction", orjson.dumps({"reason": "x"}), seeded.submitter),
    ]
    for path, content, key in routes:
        answer = seeded.client.post(
            path, content=content, headers={**key, "Content-Type": content_type}
        )
        assert_problem(answer, 415, "unsupported-media-type")
    assert_unchanged(before, dump(database_url))


def test_a_body_in_another_charset_than_utf8_is_refused(seeded: Api, database_url: str) -> None:
    before = dump(database_url)
    body = orjson.dumps(event(event_id="cs-1", probation_region="Nörth")).decode()
    for charset in ("utf-16", "utf-32", "latin-1"):
        answer = seeded.client.post(
            "/v1/events",
            content=body.encode(charset),
            headers={**seeded.submitter, "Content-Type": f"application/json; charset={charset}"},
        )
        assert_refused(answer)
    assert_unchanged(before, dump(database_url))


# --- bodies -------------------------------------------------------------------------------

BODY_ROUTES = ["/v1/events", "/v1/events/batch", "/v1/keys", "/v1/events/tr-1/retraction"]
HOSTILE_BODIES = {
    "lone-surrogate": b'{"event_id": "\\ud800", "reason": "\\udfff", "org": "\\ud800"}',
    "byte-order-mark": b"\xef\xbb\xbf" + orjson.dumps(event(event_id="bom-1")),
    "huge-exponent": b'{"events": [], "atomic": 1e999999, "reason": 1e999999}',
    "huge-integer": b'{"reason": 1' + b"0" * 5000 + b', "events": 1, "org": 1}',
    "many-unknown-keys": orjson.dumps({f"k{n}": n for n in range(20_000)}),
    "scalar": b'"a string"',
    "null": b"null",
    "nul-keys": b'{"\\u0000": 1, "events": [{"\\u0000": 2}], "reason": {"\\u0000": 3}}',
    "nested-in-data": orjson.dumps(event(event_id="n-1", prison=[[[[[[[[[[{"a": 1}]]]]]]]]]])),
    "object-for-string": b'{"event_id": {"$ne": null}, "reason": {"$gt": ""}, "org": ["X"]}',
}


@pytest.mark.parametrize("path", BODY_ROUTES)
def test_hostile_bodies_are_refused_and_change_nothing(
    seeded: Api, database_url: str, path: str
) -> None:
    before = dump(database_url)
    key = seeded.admin if path == "/v1/keys" else seeded.submitter
    for name, content in HOSTILE_BODIES.items():
        answer = seeded.client.post(path, content=content, headers={**key, **JSON})
        if path == "/v1/events/batch" and answer.status_code == 200:
            assert answer.json()["accepted"] == 0, name  # items refused one by one
        else:
            assert_refused(answer)
        assert len(answer.content) < 100_000, name
    assert_unchanged(before, dump(database_url))


def test_a_refused_item_in_a_batch_stores_none_of_its_text(seeded: Api, database_url: str) -> None:
    hostile = [
        event(event_id="b-1", person={"nomis": nomis(5)}, probation_region="\u0000"),
        event(event_id="b-2", person={"nomis": "'; DROP TABLE person; --"}),
        event(event_id="../b-3", person={"nomis": nomis(6)}),
        event("licence.activated", "b-4", licence_id="L\u00001"),
    ]
    before = dump(database_url)
    for atomic in (False, True):
        answer = seeded.batch(hostile, atomic=atomic)
        assert answer.status_code == (422 if atomic else 200), answer.text
        assert answer.json()["rejected"] == 4
    assert_unchanged(before, dump(database_url))


# --- a rate-limited and revoked caller can do no harm either -----------------------------


def test_a_revoked_key_stores_nothing(database_url: str) -> None:
    with running(database_url) as api:
        made = api.client.post(
            "/v1/keys", json=key_body("PROVIDER-Z", "submitter"), headers=api.admin
        ).json()
        revoked = api.client.delete(f"/v1/keys/{made['key_id']}", headers=api.admin)
        assert revoked.status_code == 204
        before: Dump = dump(database_url)
        answer = api.post(event(), headers=bearer(made["secret"]))
        assert_problem(answer, 401, "unauthorized")
        assert_unchanged(before, dump(database_url))


def test_identifiers_too_long_to_store_are_refused(seeded: Api, database_url: str) -> None:
    # A PNC serial is "N+" digits; one of 27 (check letter right) would overflow the stored column.
    before = dump(database_url)
    for person in ({"pnc": pnc(10**26, "2012")}, {"pnc": pnc(10**26, "12")}):
        assert len(person["pnc"].split("/")[1]) == 28
        assert_invalid(seeded.post(event(event_id="long-pnc", person=person)), "person", "pnc")
    assert_unchanged(before, dump(database_url))
    longest = {"pnc": pnc(10**25, "2012")}
    assert seeded.post(event(event_id="pnc-26", person=longest)).status_code == 201
    assert seeded.person("pnc", longest["pnc"]).status_code == 200
