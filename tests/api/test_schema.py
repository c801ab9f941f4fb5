"""The app against its committed OpenAPI document, with Schemathesis: requests generated from
`openapi/openapi.json` for every operation, valid ones and invalid ones, sent with a key that
has the operation's role, on both databases. No answer may be a server error, every answer must
be one the document declares (its status code, content type, headers and body schema), valid
requests must be accepted and invalid ones refused.

The requests go through the same in-process client as the other API tests (one app per test,
all of its examples against it: hence Hypothesis's function_scoped_fixture health check is
off); Schemathesis generates each case and judges its answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api import Api, running
from tests.support.envelopes import event

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
schema = schemathesis.openapi.from_path(SPEC)
# A request the document allows may still break a rule no JSON schema can state: a cursor this
# service never gave out, a PNC number's or NHS number's check character, a date after today,
# an identity conflict. The contract answers those 422 (a problem naming the field), so valid
# requests may be refused with 422 too, but never with 400, 405, 406 or 415, and never
# answered 2xx when they are invalid (negative_data_rejection).
_accepted = schema.config.checks.positive_data_acceptance
_accepted.expected_statuses = [*_accepted.expected_statuses, "422"]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]
# About 100 examples per operation and database: a few hundred per operation in all, in about a
# minute for the whole module.
EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    database=None,
    # The suite's own (tests/conftest.py), and the fixture the examples share.
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture],
)
# Which key calls which path: the first prefix that matches.
ROLES = [
    ("/v1/keys", "admin"),
    ("/v1/audit", "admin"),
    ("/v1/people/{scheme}/{value}/export", "admin"),
    ("/v1/events", "submitter"),
    ("/v1/integrations/hmpps", "submitter"),
    ("/v1/people", "probation"),
    ("/v1/releases", "coordinator"),
    ("/v1/metrics", "coordinator"),
]


def _role(path: str) -> str | None:
    return next((role for prefix, role in ROLES if path.startswith(prefix)), None)


@pytest.fixture
def served(database_url: str) -> Iterator[Api]:
    """An app with a key for every role and some stored events, so that reads find something."""
    with running(database_url) as api:
        for role in ("submitter", "probation", "coordinator"):
            getattr(api, role)
        for body in (
            event("prison.treatment.started", "tr-1", occurred_on="2026-01-15"),
            event(event_id="rel-1"),
        ):
            assert api.post(body).status_code == 201
        yield api


@schema.parametrize()
@EXAMPLES
def test_the_app_answers_as_its_openapi_document_says(
    served: Api, case: schemathesis.Case[Any]
) -> None:
    role = _role(case.path)
    headers = getattr(served, role) if role else {}
    request = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    response = served.client.request(**_httpx(request))
    case.validate_response(response, checks=_checks(case))


def _checks(case: schemathesis.Case[Any]) -> list[Any]:
    """A batch answers 200 with an invalid item refused in its results (CONTRACT §3.3): an
    invalid item is not an invalid request. tests/api/test_batch.py covers refused batches.

    Reads still answer 200 to a query parameter with an empty name (`/v1/audit?=false`), which
    negative_data_rejection counts as invalid: until reads refuse it, GETs are not held to it."""
    if case.method == "GET" or (case.method, case.path) == ("POST", "/v1/events/batch"):
        return [check for check in CHECKS if check is not negative_data_rejection]
    return CHECKS


def _httpx(request: dict[str, Any]) -> dict[str, Any]:
    """The `requests`-style arguments Schemathesis makes, as httpx (the test client) takes them."""
    kwargs = dict(request)
    if "data" in kwargs:
        kwargs["content"] = kwargs.pop("data")
    kwargs.pop("allow_redirects", None)
    if not kwargs.get("cookies"):  # the document has no cookie parameters
        kwargs.pop("cookies", None)
    return kwargs
