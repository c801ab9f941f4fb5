"""Fuzzing the write routes: any JSON never gives a 5xx, every 4xx is problem+json, and the
events readable afterwards are exactly those readable before plus the ones answered accepted.

The `api` fixture (one app, one database) is shared by all the examples of a test, so stored
state builds up across examples; each example checks only what its own post may change.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from httpx import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api import Api
from tests.support.envelopes import EXAMPLES, PROBLEM_JSON, TYPES, crn, nomis, pnc

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


event_ids = st.sampled_from([f"fz-{i}" for i in range(30)])
days = st.dates(min_value=date(1999, 12, 25), max_value=date(2027, 1, 5)).map(str)
identifiers = st.fixed_dictionaries(
    {},
    optional={
        "nomis": st.sampled_from([nomis(1), nomis(2), "a0003 bc"]),
        "crn": st.sampled_from([crn(1), crn(2)]),
        "nhs": st.sampled_from(["9434765919", "943 476 5919"]),
        "pnc": st.just(pnc(3)),
    },
).filter(bool)


@st.composite
def event_like(draw: st.DrawFn) -> dict[str, Any]:
    """A valid-looking event of a random type with up to two fields broken or removed."""
    type_ = draw(st.sampled_from(TYPES))
    body: dict[str, Any] = {
        "event_id": draw(event_ids),
        "type": type_,
        "occurred_on": draw(days),
        "person": draw(identifiers),
        "data": dict(EXAMPLES[type_]),
    }
    if draw(st.integers(0, 3)) == 0:
        body["corrects"] = draw(event_ids)
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        in_data = isinstance(body.get("data"), dict) and draw(st.booleans())
        target = body["data"] if in_data else body
        name = draw(st.sampled_from([*target, "extra"]))
        if draw(st.booleans()) and name in target:
            del target[name]
        else:
            target[name] = draw(json_values)
    return body


items = st.one_of(event_like(), event_like(), json_values)
well_formed = st.fixed_dictionaries(
    {"events": st.lists(items, max_size=6)}, optional={"atomic": st.booleans()}
)
batches = st.one_of(
    well_formed,
    well_formed,
    st.fixed_dictionaries(
        {"events": st.lists(items, max_size=3)},
        optional={"atomic": json_values, "extra": json_values},
    ),
    json_values,
)


def candidate_ids(values: list[Any]) -> set[str]:
    found = [v.get("event_id") for v in values if isinstance(v, dict)]
    return {i for i in found if isinstance(i, str) and EVENT_ID.fullmatch(i)}


def readable(api: Api, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The events among `ids` that can be read back, without `superseded_by` (a correction
    accepted later may rightly set it)."""
    found = {}
    for event_id in ids:
        answer = api.client.get(f"/v1/events/{event_id}", headers=api.submitter)
        assert answer.status_code in (200, 404), answer.text
        if answer.status_code == 200:
            found[event_id] = {k: v for k, v in answer.json().items() if k != "superseded_by"}
    return found


def post_json(api: Api, path: str, body: Any) -> Response:
    headers = {**api.submitter, "Content-Type": "application/json"}
    return api.client.post(path, content=json.dumps(body), headers=headers)


def check_problem(answer: Response) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"].split(";")[0] == PROBLEM_JSON, answer.text
        body = answer.json()
        assert body["status"] == answer.status_code
        assert isinstance(body["type"], str) and isinstance(body["title"], str)
        assert isinstance(body["detail"], str)


def check_state(before: dict[str, Any], after: dict[str, Any], accepted: set[str]) -> None:
    assert set(after) == set(before) | accepted
    assert not accepted & set(before)
    assert all(after[event_id] == seen for event_id, seen in before.items())


def test_posting_any_json_as_an_event(api: Api) -> None:
    @FUZZ
    @given(body=st.one_of(event_like(), event_like(), json_values))
    def post(body: Any) -> None:
        ids = candidate_ids([body])
        before = readable(api, ids)
        answer = post_json(api, "/v1/events", body)
        check_problem(answer)
        accepted = set()
        if answer.status_code == 201:
            assert answer.json()["status"] == "accepted"
            accepted = {answer.json()["event_id"]}
        elif answer.status_code == 200:
            assert answer.json()["status"] == "duplicate"
        check_state(before, readable(api, ids), accepted)

    post()


def test_posting_any_json_as_a_batch(api: Api) -> None:
    @FUZZ
    @given(body=batches)
    def post(body: Any) -> None:
        events = body.get("events") if isinstance(body, dict) else None
        ids = candidate_ids(events if isinstance(events, list) else [])
        before = readable(api, ids)
        answer = post_json(api, "/v1/events/batch", body)
        check_problem(answer)
        accepted = set()
        if answer.status_code == 200 or "results" in answer.json():
            accepted = check_results(answer.json(), events)
        check_state(before, readable(api, ids), accepted)

    post()


def check_results(body: dict[str, Any], events: Any) -> set[str]:
    """The per-item results add up; returns the ids of the events stored."""
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(events)))
    statuses = [r["status"] for r in results]
    assert body["accepted"] == statuses.count("accepted")
    assert body["duplicates"] == statuses.count("duplicate")
    assert body["rejected"] == statuses.count("rejected")
    for result in results:
        assert (result["status"] == "rejected") == (result.get("problem") is not None)
        if result.get("problem") is not None:
            assert set(result["problem"]) >= {"type", "title", "status", "detail"}
    if body.get("stored") is False:
        assert body["accepted"] == 0
    return {r["event_id"] for r in results if r["status"] == "accepted"}
