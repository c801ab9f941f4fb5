"""Errors that say how to fix them (CONTRACT §6): what differs in an event-id conflict, the
nearest event type, validation messages in joinup's words, and a page behind every problem
type."""

from __future__ import annotations

import re
from pathlib import Path

from app.api.problem_pages import CATALOGUE
from app.api.problems import STATUS_BY_SLUG
from tests.support.api import Api
from tests.support.envelopes import assert_invalid, assert_problem, event, nomis

LIBRARY_WORDS = ("Value error,", "Input tag", "found using", "Input should", "Field required")


def _messages(body: dict[str, object]) -> list[str]:
    errors = body["errors"]
    assert isinstance(errors, list)
    return [error["msg"] for error in errors]


def test_an_event_id_conflict_names_the_fields_that_differ(api: Api) -> None:
    assert api.post(event(event_id="e-1")).status_code == 201
    changed = event(event_id="e-1", occurred_on="2026-03-03", prison="LPI")
    body = assert_problem(api.post(changed), 409, "event-id-conflict")
    assert [error["loc"] for error in body["errors"]] == [["occurred_on"], ["data", "prison"]]
    assert "occurred_on, data.prison" in body["detail"]
    assert "post a correction with a new event_id" in body["detail"]
    assert '"corrects": "e-1"' in body["detail"]
    # The same event again is still a duplicate, not a conflict.
    assert api.post(event(event_id="e-1")).json()["status"] == "duplicate"


def test_a_conflict_within_one_batch_names_the_differing_identifier_not_its_value(
    api: Api,
) -> None:
    first = event(event_id="e-2", person={"nomis": nomis(1)})
    second = event(event_id="e-2", person={"nomis": nomis(2)})
    results = api.batch([first, second]).json()["results"]
    problem = results[1]["problem"]
    assert problem["type"] == "/problems/event-id-conflict"
    assert problem["errors"] == [
        {"loc": ["person", "nomis"], "msg": "differs from the event stored under this event_id"}
    ]
    assert nomis(1) not in problem["detail"] and nomis(2) not in problem["detail"]


def test_an_unknown_event_type_suggests_the_nearest(api: Api) -> None:
    misspelt = {**event(), "type": "prison.relased"}
    body = assert_invalid(api.post(misspelt), "type")
    (said,) = _messages(body)
    assert "'prison.relased' is not an event type; did you mean 'prison.released'?" in said


def test_validation_messages_are_joinup_s_and_echo_what_was_sent(api: Api) -> None:
    wrong = event(release_type="hdcc", prisn="MDI", occurred_on="2026/03/02")
    said = " | ".join(_messages(assert_invalid(api.post(wrong))))
    assert not any(words in said for words in LIBRARY_WORDS), said
    assert "'hdcc' is not an allowed value; did you mean 'hdc'?" in said
    assert "'prisn' is not a field here" in said
    assert "a date is written YYYY-MM-DD (got '2026/03/02')" in said


def test_an_identifier_is_never_echoed(api: Api) -> None:
    bad = "A12345BC"
    body = assert_invalid(api.post(event(person={"nomis": bad})), "person", "nomis")
    assert bad not in api.post(event(person={"nomis": bad})).text
    assert not any(words in " ".join(_messages(body)) for words in LIBRARY_WORDS)


def test_query_parameters_are_judged_in_joinup_s_words(api: Api) -> None:
    answer = api.releases(limit="lots", stage="gone")
    said = " | ".join(_messages(assert_invalid(answer)))
    assert "must be a whole number (got 'lots')" in said
    assert "'gone' is not an allowed value" in said
    assert not any(words in said for words in LIBRARY_WORDS), said


def test_every_problem_type_resolves_to_a_page(api: Api) -> None:
    sent = [
        api.post(event(event_id="p-1")),
        api.post(event(event_id="p-1", prison="LPI")),
        api.post({**event(), "type": "nothing"}),
        api.client.get("/v1/releases"),
        api.client.get("/v1/releases", headers=api.probation),
    ]
    types = {answer.json()["type"] for answer in sent if answer.status_code >= 400}
    assert len(types) == 4
    for slug in CATALOGUE:
        types.add(f"/problems/{slug}")
    for problem_type in types:
        page = api.client.get(problem_type)
        assert page.status_code == 200, problem_type
        assert page.headers["content-type"].startswith("text/html")
        assert "How to put it right" in page.text
    assert_problem(api.client.get("/problems/no-such-thing"), 404, "not-found")


def test_every_slug_the_code_names_has_a_page() -> None:
    app = Path(__file__).parents[2] / "app"
    named = set(STATUS_BY_SLUG)
    for source in app.rglob("*.py"):
        text = source.read_text()
        named |= set(re.findall(r'slug="([a-z-]+)"', text))
        named |= set(re.findall(r'problem\(\s*"([a-z-]+)"', text))
    assert named and named <= set(CATALOGUE), named - set(CATALOGUE)
