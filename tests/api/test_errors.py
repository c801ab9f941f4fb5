"""Errors (CONTRACT §6): every refusal is problem+json with a stable slug, and never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from httpx import Response

from tests.support.api import Api, key_body, running
from tests.support.envelopes import (
    assert_invalid,
    assert_problem,
    event,
    nomis,
)

BODY_PATHS = ["/v1/events", "/v1/events/batch", "/v1/keys", "/v1/events/ev-1/retraction"]
JSON_HEADERS = {"Content-Type": "application/json"}


def headers_for(api: Api, path: str) -> dict[str, str]:
    return api.admin if path == "/v1/keys" else api.submitter


def post_raw(api: Api, path: str, content: bytes, **headers: str) -> Response:
    sent = {**headers_for(api, path), "Content-Type": "application/json", **headers}
    return api.client.post(path, content=content, headers=sent)


def assert_nothing_stored(api: Api) -> None:
    assert_problem(api.client.get("/v1/events/ev-1", headers=api.submitter), 404, "not-found")
    assert_problem(api.person("nomis", nomis()), 404, "not-found")


# --- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nothing", "/v1/nothing", "/v1/events/a/b/c", "/v1/"])
def test_an_unknown_path_is_404_problem(api: Api, path: str) -> None:
    body = assert_problem(api.client.get(path, headers=api.admin), 404, "not-found")
    assert body["status"] == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/events"),
        ("PUT", "/v1/events/batch"),
        ("PUT", "/v1/keys"),
        ("PATCH", "/v1/events/ev-1"),
        ("POST", "/healthz"),
        ("DELETE", "/v1/releases"),
    ],
)
def test_a_wrong_method_is_405_problem(api: Api, method: str, path: str) -> None:
    answer = api.client.request(method, path, headers=api.admin)
    assert_problem(answer, 405, "method-not-allowed")
    assert answer.headers.get("allow")


# --- bodies that are not JSON -------------------------------------------------------------


@pytest.mark.parametrize("path", BODY_PATHS)
@pytest.mark.parametrize(
    "content",
    [b'{"event_id": ', b"{'event_id': 'ev-1'}", b'{"a": 1,}', b'{"a": tru}', b"\x00"],
    ids=["truncated", "single-quotes", "trailing-comma", "bad-literal", "nul"],
)
def test_malformed_json_is_400(api: Api, path: str, content: bytes) -> None:
    api.post(event(event_id="ev-1"))
    answer = post_raw(api, path, content)
    assert_problem(answer, 400, "malformed-json")
    assert api.client.get("/v1/events/ev-1", headers=api.submitter).json()["retracted"] is False


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_number_literals_are_malformed_json(
    api: Api, path: str, literal: bytes
) -> None:
    assert_problem(post_raw(api, path, literal), 400, "malformed-json")


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/events/ev-1/retraction"])
@pytest.mark.parametrize("literal", [b"NaN", b"Infinity"])
def test_non_standard_number_literals_are_malformed_json_on_every_route(
    api: Api, path: str, literal: bytes
) -> None:
    api.post(event(event_id="ev-1"))
    assert_problem(post_raw(api, path, literal), 400, "malformed-json")


@pytest.mark.parametrize("path", BODY_PATHS)
def test_an_empty_body_is_a_4xx_problem(api: Api, path: str) -> None:
    answer = post_raw(api, path, b"")
    assert answer.status_code in (400, 422), answer.text
    assert_problem(answer, answer.status_code)


@pytest.mark.parametrize("path", BODY_PATHS)
def test_invalid_utf8_is_a_4xx_problem(api: Api, path: str) -> None:
    content = b'{"event_id": "ev-\xff\xfe", "reason": "\xc3\x28", "org": "\x80"}'
    answer = post_raw(api, path, content)
    assert 400 <= answer.status_code < 500, answer.text
    assert_problem(answer, answer.status_code)
    assert_nothing_stored(api)


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_415(
    api: Api, path: str, content_type: str | None
) -> None:
    body = orjson.dumps(event() if path == "/v1/events" else {"events": [event()]})
    sent = {**api.submitter}
    if content_type:
        sent["Content-Type"] = content_type
    answer = api.client.post(path, content=body, headers=sent)
    assert_problem(answer, 415, "unsupported-media-type")
    assert_nothing_stored(api)


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/events/ev-1/retraction"])
def test_a_body_that_is_not_declared_json_is_415_on_every_route(api: Api, path: str) -> None:
    api.post(event(event_id="ev-1"))
    body = orjson.dumps(
        key_body("X", "submitter") if path == "/v1/keys" else {"reason": "sent in error"}
    )
    answer = api.client.post(
        path, content=body, headers={**headers_for(api, path), "Content-Type": "text/plain"}
    )
    assert_problem(answer, 415, "unsupported-media-type")


def test_json_with_a_charset_parameter_is_accepted(api: Api) -> None:
    answer = post_raw(
        api,
        "/v1/events",
        orjson.dumps(event()),
        **{"Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status_code == 201, answer.text


# --- size limits --------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid event whose JSON text is exactly `size` bytes (padding in the event_id)."""
    base = orjson.dumps(event(event_id=""))
    return orjson.dumps(event(event_id="x" * (size - len(base))))


def chunks(content: bytes) -> Iterator[bytes]:
    for start in range(0, len(content), 512):
        yield content[start : start + 512]


@pytest.fixture
def small(database_url: str) -> Iterator[Api]:
    with running(database_url, max_body_bytes=2048) as api:
        yield api


def test_a_body_over_the_limit_is_413(small: Api) -> None:
    big = orjson.dumps({"events": [event(event_id=f"ev-{i}") for i in range(20)]})
    assert len(big) > 2048
    answer = small.client.post(
        "/v1/events/batch", content=big, headers={**small.submitter, **JSON_HEADERS}
    )
    assert "content-length" in answer.request.headers
    assert_problem(answer, 413, "payload-too-large")
    assert_nothing_stored(small)


def test_a_body_over_the_limit_without_a_content_length_is_413(small: Api) -> None:
    big = orjson.dumps({"events": [event(event_id=f"ev-{i}") for i in range(20)]})
    sent = {**small.submitter, **JSON_HEADERS}
    answer = small.client.post("/v1/events/batch", content=chunks(big), headers=sent)
    assert "content-length" not in answer.request.headers
    assert_problem(answer, 413, "payload-too-large")
    assert_nothing_stored(small)


def test_a_body_longer_than_its_declared_content_length_is_413(small: Api) -> None:
    big = orjson.dumps({"events": [event(event_id=f"ev-{i}") for i in range(20)]})
    sent = {**small.submitter, **JSON_HEADERS, "Content-Length": "100"}
    answer = small.client.post("/v1/events/batch", content=big, headers=sent)
    assert answer.status_code in (400, 413), answer.text
    assert_problem(answer, answer.status_code)
    assert_nothing_stored(small)


def test_a_body_at_the_limit_is_read_and_judged(small: Api) -> None:
    content = padded(2048)
    assert len(content) == 2048 and len(orjson.loads(content)["event_id"]) > 128
    # The id is too long for the contract, so the body is read and judged, not refused by size.
    assert_invalid(post_raw(small, "/v1/events", content), "event_id")
    fits = orjson.dumps(event(event_id="x" * 128))
    assert post_raw(small, "/v1/events", fits).status_code == 201


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/events/ev-1/retraction"])
def test_a_body_over_the_limit_is_413_on_every_route(small: Api, path: str) -> None:
    content = orjson.dumps({"org": "X" * 3000, "roles": ["admin"], "reason": "y" * 3000})
    assert_problem(post_raw(small, path, content), 413, "payload-too-large")


# --- hostile JSON -------------------------------------------------------------------------


DEEP = 10_000


@pytest.mark.parametrize("path", BODY_PATHS)
@pytest.mark.parametrize(
    "content",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        b'{"events": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    ],
    ids=["lists", "objects", "inside"],
)
def test_deeply_nested_json_is_a_4xx_problem(api: Api, path: str, content: bytes) -> None:
    answer = post_raw(api, path, content)
    assert 400 <= answer.status_code < 500, answer.text
    assert_problem(answer, answer.status_code)


@pytest.mark.parametrize("depth", [100, 1000])
def test_nesting_that_parses_is_judged_as_an_event(api: Api, depth: int) -> None:
    nested = b'{"a":' * depth + b'"x"' + b"}" * depth
    body = orjson.dumps(event(person={"nomis": nomis()}, prison="@@@"))
    body = body.replace(b'"@@@"', nested)
    batch = b'{"events": [' + body + b", " + nested + b"]}"
    assert orjson.loads(batch)
    for path, payload in (("/v1/events", body), ("/v1/events/batch", batch)):
        answer = post_raw(api, path, payload)
        assert answer.status_code in (200, 422), answer.text
    assert_nothing_stored(api)


HUGE = "x" * 100_000
TEXT_FIELDS = [
    ("prison.released", ("event_id",)),
    ("prison.released", ("type",)),
    ("prison.released", ("occurred_on",)),
    ("prison.released", ("corrects",)),
    ("prison.released", ("person", "nomis")),
    ("prison.released", ("person", "crn")),
    ("prison.released", ("person", "nhs")),
    ("prison.released", ("person", "pnc")),
    ("prison.released", ("data", "prison")),
    ("prison.released", ("data", "release_type")),
    ("prison.released", ("data", "local_authority")),
    ("prison.released", ("data", "probation_region")),
    ("prison.released", ("data", "community_provider")),
    ("prison.reception", ("data", "reason")),
    ("prison.treatment.started", ("data", "substance_group")),
    ("prison.treatment.ended", ("data", "reason")),
    ("ost.prescribed", ("data", "medication")),
    ("ost.prescribed", ("data", "first_dose_on")),
    ("naloxone.issued", ("data", "setting")),
    ("licence.activated", ("data", "licence_id")),
    ("licence.activated", ("data", "conditions", 0, "category")),
    ("licence.activated", ("data", "conditions", 0, "code")),
    ("licence.inactivated", ("data", "licence_id")),
    ("community.referral.received", ("data", "provider")),
    ("community.treatment.started", ("data", "provider")),
    ("community.treatment.exited", ("data", "provider")),
    ("community.treatment.exited", ("data", "reason")),
]


def put(body: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        body = body[part]
    body[path[-1]] = value


@pytest.mark.parametrize(("type_", "path"), TEXT_FIELDS, ids=str)
def test_a_huge_string_in_any_text_field_is_422(
    api: Api, type_: str, path: tuple[Any, ...]
) -> None:
    body = event(type_, "ev-1")
    put(body, path, HUGE)
    answer = api.post(body)
    assert_invalid(answer, *(path if path != ("type",) else ()))
    assert_nothing_stored(api)
    assert api.batch([body]).json()["rejected"] == 1
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/keys", key_body(HUGE, "submitter")),
        ("/v1/keys", {"org": "X", "roles": [HUGE]}),
        ("/v1/keys", key_body("X", "submitter", label=HUGE)),
        ("/v1/events/ev-1/retraction", {"reason": HUGE}),
    ],
    ids=["org", "role", "label", "reason"],
)
def test_a_huge_string_in_other_bodies_is_422(api: Api, path: str, body: dict[str, Any]) -> None:
    assert api.post(event(event_id="ev-1")).status_code == 201
    answer = post_raw(api, path, orjson.dumps(body))
    assert_invalid(answer)
    assert len(answer.content) < 50_000
    assert api.client.get("/v1/events/ev-1", headers=api.submitter).json()["retracted"] is False


def test_a_huge_identifier_in_the_person_path_is_a_malformed_one(api: Api) -> None:
    answer = api.person("nomis", "A" * 10_000)
    assert_problem(answer, 422, "validation-error")
    assert "A" * 100 not in answer.text


# --- the problem shape --------------------------------------------------------------------


def test_every_problem_has_the_rfc9457_members(api: Api) -> None:
    api.post(event(event_id="ev-1"))
    cases: list[tuple[Response, int, str]] = [
        (api.client.get("/v1/keys"), 401, "unauthorized"),
        (api.client.get("/v1/keys", headers=api.submitter), 403, "forbidden"),
        (api.client.get("/v1/events/nope", headers=api.submitter), 404, "not-found"),
        (api.client.get("/v1/nope", headers=api.submitter), 404, "not-found"),
        (api.client.put("/v1/events", headers=api.submitter), 405, "method-not-allowed"),
        (post_raw(api, "/v1/events", b"{"), 400, "malformed-json"),
        (api.post({"event_id": "x"}), 422, "validation-error"),
        (api.post(event(event_id="ev-1", release_type="hdc")), 409, "event-id-conflict"),
        (post_raw(api, "/v1/events", b"{}", **{"Content-Type": "text/plain"}), 415, ""),
    ]
    for answer, status, slug in cases:
        body = assert_problem(answer, status, slug or None)
        assert set(body) >= {"type", "title", "status", "detail"}
        assert body["type"].rsplit("/", 1)[-1] == (slug or "unsupported-media-type")


def test_a_validation_problem_lists_every_error(api: Api) -> None:
    body = event(event_id="ev 1", occurred_on="yesterday", release_type="parole")
    errors = assert_invalid(api.post(body))["errors"]
    locs = sorted(tuple(e["loc"]) for e in errors)
    assert locs == [("data", "release_type"), ("event_id",), ("occurred_on",)]


# --- query parameters ---------------------------------------------------------------------


def b64(payload: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


QUERY_ERRORS = [
    ("probation", "/v1/people/nomis/A0001BC", {"as_of": "notadate"}, "as_of"),
    ("probation", "/v1/people/nomis/A0001BC", {"as_of": "2026-02-30"}, "as_of"),
    ("probation", "/v1/people/nomis/A0001BC/timeline", {"as_of": "notadate"}, "as_of"),
    ("coordinator", "/v1/releases", {"limit": "0"}, "limit"),
    ("coordinator", "/v1/releases", {"limit": "501"}, "limit"),
    ("coordinator", "/v1/releases", {"limit": "ten"}, "limit"),
    ("coordinator", "/v1/releases", {"stage": "lost"}, "stage"),
    ("coordinator", "/v1/releases", {"flag": "no_hope"}, "flag"),
    ("coordinator", "/v1/releases", {"released_from": "March"}, "released_from"),
    ("coordinator", "/v1/releases", {"as_of": "notadate"}, "as_of"),
    ("coordinator", "/v1/releases", {"format": "xml"}, "format"),
    ("coordinator", "/v1/releases", {"cursor": "not-a-cursor"}, "cursor"),
    ("coordinator", "/v1/releases", {"cursor": b64([1, 2])}, "cursor"),
    ("coordinator", "/v1/releases", {"cursor": b64({"r": 5, "id": 1, "as_of": 2})}, "cursor"),
    ("coordinator", "/v1/metrics/continuity", {"group_by": "colour"}, "group_by"),
    ("coordinator", "/v1/metrics/continuity", {"as_of": "notadate"}, "as_of"),
    ("coordinator", "/v1/metrics/continuity", {"released_to": "20260301"}, "released_to"),
]


@pytest.mark.parametrize(("role", "path", "params", "name"), QUERY_ERRORS, ids=str)
def test_a_bad_query_parameter_is_422(
    api: Api, role: str, path: str, params: dict[str, str], name: str
) -> None:
    api.post(event())
    answer = api.client.get(path, params=params, headers=getattr(api, role))
    assert_invalid(answer, name)


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "2000-01-01", "2100-12-31"])
@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("probation", "/v1/people/nomis/A0001BC"),
        ("probation", "/v1/people/nomis/A0001BC/timeline"),
        ("coordinator", "/v1/releases"),
        ("coordinator", "/v1/metrics/continuity"),
    ],
)
def test_extreme_as_of_dates_are_answered_not_crashed(
    api: Api, role: str, path: str, as_of: str
) -> None:
    api.post(event(event_id="tr-1", type_="prison.treatment.started"))
    api.post(event())
    answer = api.client.get(path, params={"as_of": as_of}, headers=getattr(api, role))
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert_invalid(answer, "as_of")


def test_extreme_release_ranges_are_answered_not_crashed(api: Api) -> None:
    api.post(event())
    params = {"released_from": "0001-01-01", "released_to": "9999-12-31"}
    for path in ("/v1/releases", "/v1/metrics/continuity"):
        answer = api.client.get(path, params=params, headers=api.coordinator)
        assert answer.status_code in (200, 422), answer.text


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/releases", "released_to"),
        ("/v1/releases", "as_of"),
        ("/v1/metrics/continuity", "released_from"),
        ("/v1/people/nomis/A1234BC", "as_of"),
        ("/v1/people/nomis/A1234BC/timeline", "as_of"),
    ],
)
@pytest.mark.parametrize("value", ["0", "1700000000", "2026-6-1", "20260601"])
def test_a_date_in_the_query_is_written_yyyy_mm_dd(
    api: Api, path: str, name: str, value: str
) -> None:
    # Read as seconds since 1970, "0" was 1970-01-01 (Schemathesis found it: test_schema.py).
    headers = api.coordinator if "/people/" not in path else api.probation
    answer = api.client.get(path, params={name: value}, headers=headers)
    assert_problem(answer, 422, "validation-error")
