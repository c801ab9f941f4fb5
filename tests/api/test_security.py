"""Rate limits, security headers, 500s that give nothing away, and secrets kept out of the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import Request
from httpx import Response
from sqlalchemy import text

from app.api.headers import DOCS_POLICY, STRICT_POLICY, secured
from tests.support.api import ADMIN_SECRET, Api, bearer, key_body, running
from tests.support.envelopes import assert_problem, event, nomis

# --- the rate limit -----------------------------------------------------------------------


@pytest.fixture
def limited(database_url: str) -> Iterator[Api]:
    with running(database_url, rate_limit_per_minute=5) as api:
        yield api


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(limited: Api) -> None:
    probation = limited.probation  # the admin key makes it while it has requests to spare
    answers = [limited.post(event(event_id=f"ev-{n}")) for n in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 201, 201]
    refused = limited.post(event(event_id="ev-5"))
    body = assert_problem(refused, 429, "rate-limited")
    assert body["title"] == "Too many requests"
    assert re.fullmatch(r"[1-9][0-9]*", refused.headers["retry-after"])
    assert int(refused.headers["retry-after"]) <= 12  # 5 a minute: a token every 12 s
    # Refused before anything is read or stored, and other keys carry on.
    assert limited.client.get("/v1/events/ev-5", headers=probation).status_code == 403
    assert limited.person("nomis", nomis()).status_code == 200


def test_every_authenticated_route_counts_against_the_key(limited: Api) -> None:
    coordinator = limited.coordinator
    for _ in range(5):
        assert limited.client.get("/v1/releases", headers=coordinator).status_code == 200
    assert_problem(limited.client.get("/v1/events/x", headers=coordinator), 429, "rate-limited")


def test_health_readiness_and_metrics_are_not_limited(limited: Api) -> None:
    for _ in range(12):
        for path in ("/healthz", "/readyz"):
            assert limited.client.get(path).status_code == 200
        assert limited.client.get("/metrics", headers=limited.admin).status_code == 200


def test_metrics_name_organisations_so_only_admin_keys_read_them(api: Api) -> None:
    api.post(event())
    assert_problem(api.client.get("/metrics"), 401, "unauthorized")
    assert_problem(api.client.get("/metrics", headers=bearer("nope")), 401, "unauthorized")
    for role in ("submitter", "probation", "coordinator"):
        assert_problem(api.client.get("/metrics", headers=getattr(api, role)), 403, "forbidden")
    scrape = api.client.get("/metrics", headers=api.admin)
    assert scrape.status_code == 200 and 'org="' in scrape.text


def test_unknown_keys_are_401_not_429(limited: Api) -> None:
    for _ in range(12):
        assert_problem(limited.client.get("/v1/keys", headers=bearer("nope")), 401)


def test_zero_turns_the_rate_limit_off(database_url: str) -> None:
    with running(database_url, rate_limit_per_minute=0) as api:
        for _ in range(30):
            assert api.client.get("/v1/keys", headers=api.admin).status_code == 200


# --- headers ------------------------------------------------------------------------------


def assert_secure(answer: Response, policy: str = STRICT_POLICY) -> None:
    headers = answer.headers
    assert headers["x-content-type-options"] == "nosniff", answer.request.url
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers.get_list("content-security-policy") == [policy]


def broken_route(api: Api) -> None:
    async def broken() -> None:
        raise RuntimeError("SELECT secret FROM api_key WHERE x = 'Z9999ZZ'")

    api.client.app.add_api_route("/v1/test-only/broken", broken)  # type: ignore[attr-defined]


def test_every_answer_carries_the_security_headers(database_url: str) -> None:
    with running(database_url, max_body_bytes=1024, rate_limit_per_minute=20) as api:
        broken_route(api)
        api.post(event())
        answers = [
            api.client.get("/healthz"),
            api.client.get("/readyz"),
            api.client.get("/metrics", headers=api.admin),
            api.client.get("/metrics"),
            api.client.get("/openapi.json"),
            api.client.get("/nothing"),
            api.client.get("/v1/keys", headers=api.admin),
            api.client.get("/v1/keys"),
            api.client.get("/v1/keys", headers=api.submitter),
            api.client.get("/v1/events/ev-1", headers=api.submitter),
            api.client.get("/v1/events/nope", headers=api.submitter),
            api.client.put("/v1/events", headers=api.submitter),
            api.client.post("/v1/events", content=b"x" * 2000, headers=api.submitter),
            api.client.get("/v1/releases", params={"format": "csv"}, headers=api.coordinator),
            api.client.get("/v1/test-only/broken"),
        ]
        answers += [api.client.get("/v1/keys", headers=api.admin) for _ in range(20)]
    statuses = {answer.status_code for answer in answers}
    assert {200, 401, 403, 404, 405, 413, 429, 500} <= statuses
    for answer in answers:
        assert_secure(answer)


def test_a_security_header_the_app_set_itself_is_kept_and_not_repeated() -> None:
    own = [(b"content-type", b"text/csv"), (b"Cache-Control", b"private, max-age=0")]
    answer = secured("/v1/releases", own, (b"x-request-id", b"r-1"))
    names = [name.lower() for name, _ in answer]
    assert answer[:2] == own and answer[-1] == (b"x-request-id", b"r-1")
    assert names.count(b"cache-control") == 1
    assert {b"x-frame-options", b"content-security-policy"} <= set(names)


def test_v1_answers_are_never_cached(api: Api) -> None:
    api.post(event())
    for answer in (
        api.client.get("/v1/events/ev-1", headers=api.submitter),
        api.person("nomis", nomis()),
        api.person("nomis", nomis(2)),
        api.client.get("/v1/releases", params={"format": "csv"}, headers=api.coordinator),
        api.client.get("/v1/keys"),
    ):
        assert answer.headers.get_list("cache-control") == ["no-store"], answer.request.url


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_may_load_what_they_need_and_nothing_else(api: Api, path: str) -> None:
    answer = api.client.get(path)
    assert answer.status_code == 200
    assert_secure(answer, DOCS_POLICY)
    directives = dict(d.strip().split(" ", 1) for d in DOCS_POLICY.split(";"))
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    # Every script, style and image the page names comes from a source its policy allows.
    for tag, url in re.findall(r"<(script|link)[^>]*(?:src|href)=\"([^\"]+)\"", answer.text):
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"
        allowed = " ".join(directives.values()) if tag == "link" else directives["script-src"]
        assert origin in allowed, (tag, url)


# --- nothing leaks ------------------------------------------------------------------------


@pytest.mark.fresh_app  # adds a route to its app
def test_an_internal_error_shows_no_trace_or_sql(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    broken_route(api)

    async def bad_sql(request: Request) -> None:
        async with request.app.state.runtime.db.read() as conn:
            await conn.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": nomis(42)})

    api.client.app.add_api_route("/v1/test-only/sql", bad_sql)  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        crashed = api.client.get("/v1/test-only/broken")
        failed = api.client.get("/v1/test-only/sql")
    body = assert_problem(crashed, 500, "internal-error")
    assert body == {
        "type": "/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "something went wrong on our side",
    }
    # PostgreSQL: an unknown table is a programming error (500); SQLite reports it as an
    # operational error, which joinup answers as the database being unavailable (503).
    assert failed.status_code in (500, 503), failed.text
    assert_problem(failed, failed.status_code)
    for answer in (crashed, failed):
        for leak in (
            "Traceback",
            "SELECT",
            "no_such_table",
            "api_key",
            "Z9999ZZ",
            "A0042BC",
            'File "',
        ):
            assert leak not in answer.text
    # The log keeps what an operator needs, but not the values bound to the statement.
    assert "RuntimeError" in caplog.text
    assert nomis(42) not in caplog.text


def test_secrets_never_reach_the_logs(
    database_url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG), running(database_url) as api:
        broken_route(api)
        made = api.client.post(
            "/v1/keys", json=key_body("PROVIDER-Z", "submitter"), headers=api.admin
        )
        secret = made.json()["secret"]
        key = bearer(secret)
        assert api.post(event(), headers=key).status_code == 201
        assert api.batch([event(), {"event_id": 1}], headers=key).status_code == 200
        assert api.client.get("/v1/keys", headers=key).status_code == 403
        assert api.client.get("/v1/test-only/broken", headers=key).status_code == 500
        wrong = "jk_" + "w" * 43
        assert api.client.get("/v1/events/ev-1", headers=bearer(wrong)).status_code == 401
        api.client.delete(f"/v1/keys/{made.json()['key_id']}", headers=api.admin)
        assert api.post(event(), headers=key).status_code == 401
    logged = caplog.text + capsys.readouterr().err
    assert "POST /v1/events" in logged or "/v1/events" in logged
    for hidden in (secret, wrong, ADMIN_SECRET):
        assert hidden not in logged
