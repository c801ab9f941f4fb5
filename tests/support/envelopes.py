"""Posted event envelopes for the API tests, valid identifiers, and problem+json checks.

`EXAMPLES` holds a valid `data` for each of the thirteen event types with every field filled in
(CONTRACT §3.2), so that a test can break exactly one thing in an otherwise valid event.
Identifier helpers give the n-th valid value of each scheme, check digits included.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from httpx import Response

from app.api.examples import DATA

PROBLEM_JSON = "application/problem+json"
LONDON = ZoneInfo("Europe/London")
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"

# The OpenAPI document's example data of each type (app/api/examples.py), with the values some
# tests' assertions name.
EXAMPLES: dict[str, dict[str, Any]] = {
    **copy.deepcopy(DATA),
    "prison.treatment.ended": {"reason": "completed"},
    "community.treatment.exited": {"provider": "PROVIDER-WIGAN", "reason": "dropped_out"},
    "person.died": {"drug_related": True},
}
TYPES = tuple(EXAMPLES)


def nomis(n: int = 1) -> str:
    return f"A{n:04d}BC"


def crn(n: int = 1) -> str:
    return f"X{n:06d}"


def _nhs_check(digits: str) -> int:
    check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
    return 0 if check == 11 else check


def nhs(n: int = 1) -> str:
    """The n-th valid NHS number from 943 476 591 9 on (n >= 1)."""
    base, found = 943476591, 0
    while True:
        digits = f"{base:09d}"
        check = _nhs_check(digits)
        if check != 10:
            found += 1
            if found == n:
                return f"{digits}{check}"
        base += 1


def pnc(n: int = 1, year: str = "2012") -> str:
    serial = f"{n:07d}"
    return f"{year}/{serial}{_PNC_LETTERS[int(year[-2:] + serial) % 23]}"


def event(
    type_: str = "prison.released",
    event_id: str = "ev-1",
    *,
    person: dict[str, Any] | None = None,
    occurred_on: Any = "2026-03-02",
    corrects: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """A valid envelope of `type_`; keyword arguments override fields of its example `data`."""
    body: dict[str, Any] = {
        "event_id": event_id,
        "type": type_,
        "occurred_on": occurred_on,
        "person": person if person is not None else {"nomis": nomis()},
        "data": {**copy.deepcopy(EXAMPLES[type_]), **data},
    }
    if corrects is not None:
        body["corrects"] = corrects
    return body


def london_today() -> date:
    return datetime.now(LONDON).date()


def assert_problem(response: Response, status: int, slug: str | None = None) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status (and slug); returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if slug is not None:
        assert body["type"].endswith(f"/{slug}"), body["type"]
    return body


def assert_invalid(response: Response, *field: str | int) -> dict[str, Any]:
    """A 422 validation problem whose `errors` name `field` (a run of parts of some `loc`)."""
    body = assert_problem(response, 422, "validation-error")
    errors = body["errors"]
    assert errors, body
    for error in errors:
        assert isinstance(error["loc"], list) and isinstance(error["msg"], str) and error["msg"]
    if field:
        locs = [list(error["loc"]) for error in errors]
        assert any(_names(loc, list(field)) for loc in locs), locs
    return body


def _names(loc: list[Any], field: list[Any]) -> bool:
    return any(loc[i : i + len(field)] == field for i in range(len(loc) - len(field) + 1))
