"""Signing in with a key, the session cookie, the forms' tokens, and who may see which page
(CONTRACT §9), through the app on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import create_engine, text

from app.db.engine import sync_url
from tests.support.api import Api
from tests.support.envelopes import event, nomis
from tests.web.support import browsing, form_token, secret_of, sign_in


@pytest.fixture
def site(database_url: str) -> Iterator[Api]:
    with browsing(database_url) as api:
        yield api


def _cookie(set_cookie: str) -> SimpleCookie:
    cookie = SimpleCookie()
    cookie.load(set_cookie)
    return cookie


def _session_cookie(answer_headers: list[str]) -> str:
    return next(value for value in answer_headers if value.startswith("joinup_session="))


def test_home_sends_a_stranger_to_sign_in_and_a_signed_in_key_to_its_first_page(
    site: Api,
) -> None:
    home = site.client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/sign-in")
    signed = sign_in(site.client, secret_of(site.probation))
    assert (signed.status_code, signed.headers["location"]) == (303, "/people")
    home = site.client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/people"


def test_the_session_cookie_is_http_only_lax_and_expiring_and_not_secure_on_loopback(
    site: Api,
) -> None:
    answer = sign_in(site.client, secret_of(site.coordinator))
    assert answer.headers["location"] == "/overview"
    cookie = _cookie(_session_cookie(answer.headers.get_list("set-cookie")))["joinup_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert int(cookie["max-age"]) == 8 * 3600
    assert not cookie["secure"]


def test_cookies_are_secure_anywhere_but_over_plain_http_to_loopback(database_url: str) -> None:
    with browsing(database_url, base_url="http://joinup.example") as api:
        form = api.client.get("/sign-in").headers["set-cookie"]
        assert _cookie(form)["joinup_form"]["secure"] is True
    with browsing(database_url, base_url="https://joinup.example") as api:
        answer = sign_in(api.client, secret_of(api.coordinator))
        cookie = _cookie(_session_cookie(answer.headers.get_list("set-cookie")))
        assert cookie["joinup_session"]["secure"] is True


def test_a_sign_in_without_the_form_s_token_opens_no_session(site: Api) -> None:
    site.client.get("/sign-in")
    secret = secret_of(site.coordinator)
    for token in ("", "forged"):
        answer = site.client.post("/sign-in", data={"key": secret, "form_token": token})
        assert answer.status_code == 403
        assert "joinup_session" not in answer.headers.get("set-cookie", "")
    assert site.client.get("/overview", follow_redirects=False).status_code == 303


def test_a_submitter_key_or_an_unknown_one_cannot_sign_in(site: Api) -> None:
    refused = sign_in(site.client, secret_of(site.submitter))
    assert refused.status_code == 403
    assert "This key cannot sign in" in refused.text
    unknown = sign_in(site.client, "jk_not-a-key")
    assert unknown.status_code == 401
    for answer in (refused, unknown):
        assert "joinup_session" not in answer.headers.get("set-cookie", "")
    assert (
        site.client.get("/people", follow_redirects=False)
        .headers["location"]
        .startswith("/sign-in")
    )


def test_probation_is_refused_the_coordinators_pages(site: Api) -> None:
    sign_in(site.client, secret_of(site.probation))
    for path in ("/overview", "/releases", "/releases.csv"):
        answer = site.client.get(path)
        assert answer.status_code == 403, path
        assert "You cannot see this page" in answer.text
    assert site.client.get("/people").status_code == 200


def test_a_page_asked_for_before_signing_in_is_shown_after_it(site: Api) -> None:
    asked = site.client.get("/releases?stage=not_picked_up", follow_redirects=False)
    assert asked.headers["location"] == "/sign-in?next=%2Freleases%3Fstage%3Dnot_picked_up"
    page = site.client.get(asked.headers["location"])
    body = {"key": secret_of(site.coordinator), "form_token": form_token(page)}
    body["next"] = "/releases?stage=not_picked_up"
    answer = site.client.post("/sign-in", data=body, follow_redirects=False)
    assert answer.headers["location"] == "/releases?stage=not_picked_up"


def test_sign_in_never_sends_the_browser_to_another_site(site: Api) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = sign_in(site.client, secret_of(site.coordinator), next=target)
        assert answer.headers["location"] == "/overview", target


def test_sign_out_needs_the_session_s_form_token_and_ends_the_session(site: Api) -> None:
    sign_in(site.client, secret_of(site.coordinator))
    page = site.client.get("/overview")
    assert page.status_code == 200
    forged = site.client.post("/sign-out", data={"form_token": "forged"})
    assert forged.status_code == 403
    assert site.client.get("/overview").status_code == 200
    out = site.client.post(
        "/sign-out", data={"form_token": form_token(page)}, follow_redirects=False
    )
    assert (out.status_code, out.headers["location"]) == (303, "/sign-in")
    assert site.client.get("/overview", follow_redirects=False).status_code == 303


def test_a_revoked_key_s_session_ends_at_once(site: Api) -> None:
    made = site.client.post(
        "/v1/keys", json={"org": "COORD-X", "roles": ["coordinator"]}, headers=site.admin
    ).json()
    sign_in(site.client, made["secret"])
    assert site.client.get("/overview").status_code == 200
    site.client.delete(f"/v1/keys/{made['key_id']}", headers=site.admin)
    assert site.client.get("/overview", follow_redirects=False).status_code == 303


def test_a_person_s_page_is_audited_as_the_api_s_handover_and_timeline_reads(site: Api) -> None:
    person = {"nomis": nomis(7)}
    assert site.post(event("prison.released", "rel-7", person=person)).status_code == 201
    for path in (f"/v1/people/nomis/{nomis(7)}", f"/v1/people/nomis/{nomis(7)}/timeline"):
        read = site.client.get(path, headers={**site.probation, "X-Request-ID": "rq-api-7"})
        assert read.status_code == 200
    sign_in(site.client, secret_of(site.probation))
    page = site.client.get(f"/people/nomis/{nomis(7)}", headers={"X-Request-ID": "rq-page-7"})
    assert page.status_code == 200
    assert nomis(7) in page.text
    trail = site.client.get("/v1/audit", params={"limit": 500}, headers=site.admin).json()

    def rows(request_id: str) -> list[tuple[str, str, str, str]]:
        return sorted(
            (row["what"], row["who"], row["subjectId"], repr(sorted(row["details"].items())))
            for row in trail["items"]
            if row["callerRequestId"] == request_id
        )

    assert [what for what, *_ in rows("rq-page-7")] == ["READ_PERSON", "READ_TIMELINE"]
    assert rows("rq-page-7") == rows("rq-api-7")


def test_an_expired_session_opens_nothing_and_is_cleared_by_the_next_sign_in(
    database_url: str,
) -> None:
    with browsing(database_url) as api:
        sign_in(api.client, secret_of(api.coordinator))
        assert api.client.get("/overview").status_code == 200
        engine = create_engine(sync_url(database_url))
        with engine.begin() as conn:
            conn.execute(text("UPDATE web_session SET expires_at = created_at"))
        assert api.client.get("/overview", follow_redirects=False).status_code == 303
        sign_in(api.client, secret_of(api.probation))
        with engine.begin() as conn:
            left = conn.execute(text("SELECT count(*) FROM web_session")).scalar_one()
        engine.dispose()
        assert left == 1


def test_every_form_carries_a_form_token_which_never_stays_in_an_address(site: Api) -> None:
    person = {"nomis": nomis(8)}
    assert site.post(event("prison.released", "rel-8", person=person)).status_code == 201
    pages = [site.client.get("/sign-in").text]
    sign_in(site.client, secret_of(site.coordinator))
    for path in ("/overview", "/releases", "/people", f"/people/nomis/{nomis(8)}"):
        answer = site.client.get(path)
        assert answer.status_code == 200, path
        pages.append(answer.text)
    for page in pages:
        forms = re.findall(r"<form\b.*?</form>", page, re.S)
        assert forms
        for form in forms:
            assert re.search(r'<input type="hidden" name="form_token" value="[^"]+"', form), form
    token = form_token(site.client.get("/releases"))
    sent = site.client.get(f"/releases?form_token={token}&stage=", follow_redirects=False)
    assert (sent.status_code, sent.headers["location"]) == (303, "/releases")


def test_a_link_from_another_site_asks_before_reading_anyone(site: Api) -> None:
    person = {"nomis": nomis(9)}
    assert site.post(event("prison.released", "rel-9", person=person)).status_code == 201
    sign_in(site.client, secret_of(site.probation))
    path = f"/people/nomis/{nomis(9)}"
    crossed = site.client.get(
        path, headers={"Sec-Fetch-Site": "cross-site", "X-Request-ID": "rq-crossed-9"}
    )
    assert crossed.status_code == 200
    assert "Open this page?" in crossed.text and f'href="{path}"' in crossed.text
    followed = site.client.get(
        path, headers={"Sec-Fetch-Site": "same-origin", "X-Request-ID": "rq-followed-9"}
    )
    assert nomis(9) in followed.text
    trail = site.client.get("/v1/audit", params={"limit": 500}, headers=site.admin).json()
    ids = [row["callerRequestId"] for row in trail["items"]]
    assert "rq-crossed-9" not in ids and ids.count("rq-followed-9") == 2
    home = site.client.get("/", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert home.headers["location"] == "/people"
