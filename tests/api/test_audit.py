"""The read audit trail and the subject access export: every read of person-level data writes
exactly one row (who, what, about whom, when, the request id), admins read the trail through
`GET /v1/audit` (filtered, paged, newest first), rows are only ever added, and a subject access
export gathers every event, record and audit row about one person."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from httpx import Response

from app.db import events as event_store
from app.domain.filters import ReleaseFilter
from app.services import releases as release_service
from app.services.principal import Principal
from tests.support.api import Api
from tests.support.envelopes import assert_invalid, assert_problem, event, london_today, nomis, pnc
from tests.support.scoped import (
    AS_OF,
    BOTH,
    LPI_ONLY,
    MDI_ONLY,
    RELEASES,
    post_all,
    scoped_key,
)

APP = Path(__file__).resolve().parents[2] / "app"
IDENTIFIER_VALUES = [nomis(n) for n in range(1, 7)]


@dataclass
class Readers:
    """A key of each reading role, with its key id, so that `who` can be checked."""

    probation: tuple[str, dict[str, str]]
    coordinator: tuple[str, dict[str, str]]
    admin: tuple[str, dict[str, str]]


@pytest.fixture
def readers(api: Api) -> Readers:
    post_all(api)
    return Readers(
        scoped_key(api, None, "probation", org="PROBATION-NW"),
        scoped_key(api, None, "coordinator", org="COORD-NW"),
        scoped_key(api, None, "admin", org="DPO-OFFICE"),
    )


def _get(api: Api, path: str, headers: dict[str, str], **params: Any) -> tuple[Response, str]:
    """GET with a new X-Request-ID; the answer and the id the server gave the request (never
    the caller's)."""
    sent = f"rq-{uuid.uuid4().hex}"
    answer = api.client.get(path, params=params, headers={**headers, "X-Request-ID": sent})
    request_id = answer.headers["x-request-id"]
    assert request_id != sent and len(request_id) == 32
    return answer, request_id


def trail(api: Api, **filters: Any) -> list[dict[str, Any]]:
    """The whole trail `filters` admit, newest first, walked page by page (500 a page unless
    `limit` says otherwise)."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 500, **filters}
    while True:
        answer = api.client.get("/v1/audit", params=query, headers=api.admin)
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if answer.json()["next_cursor"] is None:
            return items
        query["cursor"] = answer.json()["next_cursor"]


def rows_of(api: Api, request_id: str) -> list[dict[str, Any]]:
    return [item for item in trail(api) if item["correlationId"] == request_id]


def only_row(api: Api, request_id: str) -> dict[str, Any]:
    rows = rows_of(api, request_id)
    assert len(rows) == 1, rows
    return rows[0]


def person_id_of(api: Api, who: str) -> str:
    answer = api.client.get(f"/v1/people/nomis/{who}/timeline", headers=api.probation)
    assert answer.status_code == 200, answer.text
    person_id: str = answer.json()["person_id"]
    return person_id


# -- each read writes exactly one row -----------------------------------------------------------


@dataclass(frozen=True)
class Read:
    what: str
    reader: str
    path: str
    params: dict[str, str]
    subject_type: str
    check: Callable[[Response, dict[str, Any]], None]


def _handover(answer: Response, details: dict[str, Any]) -> None:
    assert details["scheme"] == "nomis" and details["as_of"] == AS_OF
    assert details["release_ids"] == [r["release_id"] for r in answer.json()["releases"]]
    assert len(details["release_ids"]) == 2


def _timeline(answer: Response, details: dict[str, Any]) -> None:
    assert details["scheme"] == "nomis"
    assert details["events"] == len(answer.json()["events"]) == 5


def _page(answer: Response, details: dict[str, Any]) -> None:
    items = answer.json()["items"]
    assert details["rows"] == len(items) == len(RELEASES)
    assert sorted(details["person_ids"]) == sorted({item["person_id"] for item in items})
    assert details["filters"] == {"as_of": AS_OF}


def _csv(answer: Response, details: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert details["rows"] == len(rows) == len(RELEASES)
    assert details["filters"] == {"as_of": AS_OF}
    assert "person_ids" not in details


def _metrics(answer: Response, details: dict[str, Any]) -> None:
    assert details["filters"] == {"as_of": AS_OF, "group_by": "prison"}
    assert "person_ids" not in details


def _export(answer: Response, details: dict[str, Any]) -> None:
    body = answer.json()
    assert details["scheme"] == "nomis"
    assert details["events"] == len(body["events"]) == 5
    assert details["releases"] == len(body["releases"]) == 2
    assert details["audit"] == len(body["audit"])


READS = {
    "handover": Read(
        "READ_PERSON", "probation", f"/v1/people/nomis/{BOTH}", {}, "person", _handover
    ),
    "timeline": Read(
        "READ_TIMELINE", "probation", f"/v1/people/nomis/{BOTH}/timeline", {}, "person", _timeline
    ),
    "gap list page": Read("READ_RELEASES", "coordinator", "/v1/releases", {}, "query", _page),
    "gap list csv": Read(
        "EXPORT_RELEASES_CSV", "coordinator", "/v1/releases", {"format": "csv"}, "query", _csv
    ),
    "metrics": Read(
        "READ_METRICS",
        "coordinator",
        "/v1/metrics/continuity",
        {"group_by": "prison"},
        "query",
        _metrics,
    ),
    "subject export": Read(
        "EXPORT_SUBJECT", "admin", f"/v1/people/nomis/{BOTH}/export", {}, "person", _export
    ),
}


@pytest.mark.parametrize("name", READS)
def test_each_read_writes_one_row_naming_who_what_whom_and_the_request(
    api: Api, readers: Readers, name: str
) -> None:
    read = READS[name]
    key_id, headers = getattr(readers, read.reader)
    # The export takes no date: it is of everything held, as of today.
    dated = {} if name == "subject export" else {"as_of": AS_OF}
    answer, request_id = _get(api, read.path, headers, **dated, **read.params)
    assert answer.status_code == 200, answer.text
    row = only_row(api, request_id)
    assert row["what"] == read.what
    assert row["who"] == key_id
    assert row["service"] == "joinup"
    assert row["subjectType"] == read.subject_type
    expected_subject = person_id_of(api, BOTH) if read.subject_type == "person" else None
    assert row["subjectId"] == expected_subject
    assert (
        row["details"]["org"]
        == {
            "probation": "PROBATION-NW",
            "coordinator": "COORD-NW",
            "admin": "DPO-OFFICE",
        }[read.reader]
    )
    assert row["details"]["outcome"] == "ok"
    assert abs(datetime.fromisoformat(row["when"]) - datetime.now(UTC)) < timedelta(minutes=5)
    read.check(answer, row["details"])


def test_gap_list_pages_each_record_their_rows_and_people(api: Api, readers: Readers) -> None:
    _, headers = readers.coordinator
    query: dict[str, Any] = {"as_of": AS_OF, "limit": 2}
    seen: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    while True:
        answer, request_id = _get(api, "/v1/releases", headers, **query)
        assert answer.status_code == 200, answer.text
        seen.append((only_row(api, request_id)["details"], answer.json()["items"]))
        if answer.json()["next_cursor"] is None:
            break
        query["cursor"] = answer.json()["next_cursor"]
    assert [details["rows"] for details, _ in seen] == [2, 2, 1]
    assert [details["continued"] for details, _ in seen] == [False, True, True]
    for details, items in seen:
        assert details["person_ids"] == list(dict.fromkeys(i["person_id"] for i in items))
        assert details["filters"] == {"as_of": AS_OF}


def test_a_scoped_key_s_query_rows_carry_its_scope(api: Api, readers: Readers) -> None:
    _, headers = scoped_key(api, {"prisons": ["MDI"]}, "coordinator")
    answer, request_id = _get(api, "/v1/releases", headers, as_of=AS_OF, stage="in_treatment")
    assert answer.status_code == 200, answer.text
    details = only_row(api, request_id)["details"]
    assert details["filters"] == {
        "as_of": AS_OF,
        "stage": "in_treatment",
        "scope": {"prisons": ["MDI"]},
    }
    assert details["rows"] == len(answer.json()["items"])


def test_a_csv_export_cut_short_records_only_the_rows_that_went_out(
    api: Api, readers: Readers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row is written when the stream ends; a chunk counts once the server asked for the
    next one (so it had sent this one): here the header and two chunks of two rows were handed
    over, and the client went away before asking for the third chunk."""
    monkeypatch.setattr(release_service, "CSV_CHUNK", 2)
    key_id, _ = readers.coordinator
    caller = Principal(key_id, "COORD-NW", frozenset({"coordinator"}), request_id="rq-cut-short")
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    where = ReleaseFilter(as_of=date.fromisoformat(AS_OF))

    async def cut_short() -> None:
        body = release_service.export_csv(runtime.db, caller, where, runtime.rules)
        for _ in range(3):  # the header, then two chunks of two rows
            await anext(body)
        await body.aclose()

    assert api.client.portal is not None
    api.client.portal.call(cut_short)
    row = only_row(api, "rq-cut-short")
    assert row["what"] == "EXPORT_RELEASES_CSV"
    assert row["details"]["outcome"] == "interrupted"
    assert row["details"]["rows"] == 2


# -- refusals -----------------------------------------------------------------------------------


def test_a_lookup_of_an_unknown_identifier_is_recorded_without_the_identifier(
    api: Api, readers: Readers
) -> None:
    key_id, headers = readers.probation
    unknown = nomis(77)
    for path, what in (
        (f"/v1/people/nomis/{unknown}", "READ_PERSON"),
        (f"/v1/people/nomis/{unknown}/timeline", "READ_TIMELINE"),
        (f"/v1/people/pnc/{pnc(77)}", "READ_PERSON"),
        (f"/v1/people/{unknown}/{unknown}", "READ_PERSON"),
    ):
        answer, request_id = _get(api, path, headers)
        assert_problem(answer, 404, "not-found")
        row = only_row(api, request_id)
        assert (row["what"], row["who"], row["subjectId"]) == (what, key_id, None)
        assert row["details"]["outcome"] == "not-found"
        assert row["details"]["scheme"] in ("nomis", "pnc", None)
        assert unknown not in json.dumps(row) and pnc(77) not in json.dumps(row)


def test_a_scoped_key_refused_a_person_is_recorded_with_the_person(
    api: Api, readers: Readers
) -> None:
    key_id, headers = scoped_key(api, {"prisons": ["MDI"]}, "probation")
    answer, request_id = _get(api, f"/v1/people/nomis/{LPI_ONLY}", headers, as_of=AS_OF)
    assert_problem(answer, 404, "not-found")
    row = only_row(api, request_id)
    assert row["who"] == key_id
    assert row["subjectId"] == person_id_of(api, LPI_ONLY)
    assert row["details"]["outcome"] == "not-found"


def test_requests_refused_before_any_read_write_no_row(api: Api, readers: Readers) -> None:
    """401, 403 and 422 are decided before anything is read: the access log has them."""
    _, probation = readers.probation
    _, coordinator = readers.coordinator
    for path, headers, params, status in (
        ("/v1/audit", probation, {}, 403),
        ("/v1/audit", coordinator, {}, 403),
        (f"/v1/people/nomis/{BOTH}/export", probation, {}, 403),
        (f"/v1/people/nomis/{BOTH}/export", api.submitter, {}, 403),
        (f"/v1/people/nomis/{BOTH}", api.submitter, {}, 403),
        (f"/v1/people/nomis/{BOTH}", {}, {}, 401),
        (f"/v1/people/nomis/{BOTH}", probation, {"as_of": "someday"}, 422),
        ("/v1/releases", coordinator, {"stage": "lost"}, 422),
        ("/v1/audit", api.admin, {"from": "1999-12-31"}, 422),
    ):
        answer, request_id = _get(api, path, headers, **params)
        assert_problem(answer, status)
        assert rows_of(api, request_id) == []


def test_only_admins_read_the_trail(api: Api, readers: Readers) -> None:
    for headers in (api.submitter, readers.probation[1], readers.coordinator[1]):
        assert_problem(api.client.get("/v1/audit", headers=headers), 403, "forbidden")
    assert api.client.get("/v1/audit", headers=readers.admin[1]).status_code == 200


# -- GET /v1/audit: filters and pages -------------------------------------------------------------


def _read_people(api: Api, readers: Readers) -> None:
    """Reads by two organisations: probation reads MDI_ONLY twice and BOTH once, the
    coordinator reads BOTH's timeline once and the gap list (which shows everyone) once."""
    _, probation = readers.probation
    _, coordinator = readers.coordinator
    for who, path, headers in (
        (MDI_ONLY, "", probation),
        (MDI_ONLY, "", probation),
        (BOTH, "", probation),
        (BOTH, "/timeline", coordinator),
    ):
        assert _get(api, f"/v1/people/nomis/{who}{path}", headers)[0].status_code == 200
    assert _get(api, "/v1/releases", coordinator, as_of=AS_OF)[0].status_code == 200


def test_the_trail_filters_by_person_organisation_and_what(api: Api, readers: Readers) -> None:
    _read_people(api, readers)
    mdi_only = person_id_of(api, MDI_ONLY)  # a READ_TIMELINE by the test's own probation key
    about = trail(api, person_id=mdi_only)
    whats = [item["what"] for item in about]
    # Newest first: the timeline just read, the gap list, two handover reads, then the post.
    assert whats == ["READ_TIMELINE", "READ_RELEASES", "READ_PERSON", "READ_PERSON", "POST_EVENTS"]
    assert all(
        item["subjectId"] == mdi_only or mdi_only in item["details"]["person_ids"] for item in about
    )
    coordinator_rows = trail(api, org="COORD-NW")
    assert {item["what"] for item in coordinator_rows} == {"READ_TIMELINE", "READ_RELEASES"}
    assert {item["details"]["org"] for item in coordinator_rows} == {"COORD-NW"}
    person_reads = trail(api, what="READ_PERSON")
    assert len(person_reads) == 3
    both = person_id_of(api, BOTH)
    assert [i["subjectId"] for i in person_reads] == [both, mdi_only, mdi_only]
    assert trail(api, what="READ_PERSON", org="COORD-NW") == []


def test_the_trail_filters_by_day(api: Api, readers: Readers) -> None:
    _read_people(api, readers)
    today = london_today()
    day, before, after = (str(today + timedelta(days=n)) for n in (0, -1, 1))
    everything = trail(api, what="READ_PERSON")
    assert len(everything) == 3
    assert trail(api, what="READ_PERSON", **{"from": day, "to": day}) == everything
    assert trail(api, what="READ_PERSON", **{"from": before}) == everything
    assert trail(api, what="READ_PERSON", to=before) == []
    assert trail(api, what="READ_PERSON", **{"from": after}) == []
    assert trail(api, what="READ_PERSON", **{"from": day, "to": before}) == []


def test_pages_of_the_trail_miss_and_repeat_nothing(api: Api, readers: Readers) -> None:
    _, probation = readers.probation
    for _ in range(4):
        _read_people(api, readers)
    for who in (MDI_ONLY, LPI_ONLY, BOTH):
        _get(api, f"/v1/people/nomis/{who}", probation)
    whole = trail(api)
    ids = [item["correlationId"] for item in whole]
    # Every read since the first audit read has its own request id; those before are keys made
    # and the post of the data set (no request id of ours).
    assert len(set(filter(None, ids))) == len(list(filter(None, ids)))
    for limit in (1, 3, 7):
        paged = trail(api, limit=limit, what="READ_PERSON")
        assert paged == trail(api, what="READ_PERSON")
        assert len(paged) == 4 * 3 + 3
    # Across all kinds of rows (audit reads are added while walking, always newer than the
    # page being read, so a walk never meets them): the walk is the snapshot plus the snapshot's
    # own READ_AUDIT row.
    snapshot = trail(api)
    walked = trail(api, limit=4)
    assert walked[1:] == snapshot
    assert walked[0]["what"] == "READ_AUDIT"


def test_bad_audit_queries_are_refused(api: Api) -> None:
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"what": "DELETE_EVERYTHING"}, "what"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "2101-01-01"}, "to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJiZWZvcmUiOiAtMX0"}, "cursor"),  # {"before": -1}
    ):
        answer = api.client.get("/v1/audit", params=params, headers=api.admin)
        assert_invalid(answer, "query", field)


# -- writes and key changes -----------------------------------------------------------------------


def _admin_key_id(api: Api) -> str:
    keys = api.client.get("/v1/keys", headers=api.admin).json()
    key_id: str = next(k["key_id"] for k in keys if k["label"] == "from JOINUP_ADMIN_KEY")
    return key_id


def test_key_changes_and_event_writes_are_recorded(api: Api) -> None:
    admin = _admin_key_id(api)
    assert trail(api, what="KEY_CREATED")[-1]["who"] is None  # the first admin key, at start
    body = {"org": "COORD-X", "roles": ["coordinator"], "label": "night shift"}
    made = api.client.post("/v1/keys", json=body, headers=api.admin).json()
    key_id = made["key_id"]
    scope = {"prisons": ["MDI"]}
    assert api.client.put(f"/v1/keys/{key_id}/scope", json=scope, headers=api.admin).is_success
    assert api.client.delete(f"/v1/keys/{key_id}", headers=api.admin).status_code == 204
    about_key = [item for item in trail(api) if item["subjectId"] == key_id]
    assert [(i["what"], i["who"], i["subjectType"]) for i in about_key] == [
        ("KEY_REVOKED", admin, "key"),
        ("KEY_SCOPE_CHANGED", admin, "key"),
        ("KEY_CREATED", admin, "key"),
    ]
    assert about_key[1]["details"]["scope"] == scope
    assert about_key[2]["details"]["key_org"] == "COORD-X"
    assert "secret" not in json.dumps(about_key) and made["secret"] not in json.dumps(about_key)

    assert api.post(event(event_id="rel-1")).status_code == 201
    posted = trail(api, what="POST_EVENTS")[0]
    assert posted["details"]["accepted"] == ["rel-1"]
    assert posted["details"]["person_ids"] == [person_id_of(api, nomis())]
    assert posted["details"]["outcome"] == "stored"
    retraction = {"reason": "wrong person"}
    path = "/v1/events/rel-1/retraction"
    assert api.client.post(path, json=retraction, headers=api.submitter).status_code == 200
    retracted = trail(api, what="RETRACT_EVENT")[0]
    assert (retracted["subjectId"], retracted["subjectType"]) == ("rel-1", "event")
    assert retracted["details"]["reason"] == "wrong person"


# -- the subject access export --------------------------------------------------------------------


def test_the_export_holds_every_event_record_and_audit_row_of_the_person(api: Api) -> None:
    person = {"nomis": nomis(), "crn": "X000001"}
    for body in (
        event("prison.treatment.started", "tr-1", person=person, occurred_on="2026-01-15"),
        event("prison.released", "rel-1", person=person),
        event("prison.released", "rel-2", person=person, corrects="rel-1", prison="LPI"),
        event("naloxone.issued", "nal-1", person=person),
        event("naloxone.issued", "other", person={"nomis": nomis(2)}),
    ):
        assert api.post(body).status_code == 201
    retraction = {"reason": "wrong person"}
    path = "/v1/events/nal-1/retraction"
    assert api.client.post(path, json=retraction, headers=api.submitter).status_code == 200
    assert api.person("nomis", nomis()).status_code == 200
    answer, request_id = _get(api, f"/v1/people/crn/{person['crn']}/export", api.admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()

    assert body["identifiers"] == {"nomis": nomis(), "crn": "X000001"}
    assert {(i["scheme"], i["value"]) for i in body["all_identifiers"]} == set(person.items())
    events = {e["event_id"]: e for e in body["events"]}
    assert set(events) == {"tr-1", "rel-1", "rel-2", "nal-1"}
    assert events["rel-1"]["superseded_by"] == "rel-2"
    assert events["nal-1"]["retracted"] is True
    assert events["nal-1"]["retraction_reason"] == "wrong person"
    assert {e["org"] for e in events.values()} == {"PROVIDER-A"}
    assert all(e["received_at"] for e in events.values())
    assert [r["prison"] for r in body["releases"]] == ["LPI"]
    assert body["as_of"] == london_today().isoformat()

    whats = [item["what"] for item in body["audit"]]
    assert whats == ["READ_PERSON", "RETRACT_EVENT", *["POST_EVENTS"] * 4]
    row = only_row(api, request_id)
    assert (row["what"], row["subjectId"]) == ("EXPORT_SUBJECT", body["person_id"])
    assert row["details"]["scheme"] == "crn"
    # Found by the person filter afterwards, with the rows it exported.
    assert trail(api, person_id=body["person_id"])[1:] == body["audit"]


def test_the_export_reads_a_long_history_in_pages_and_keeps_its_order(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_store, "EVENTS_PER_READ", 2)  # five events: three queries
    person = {"nomis": nomis()}
    for event_id, kind, day in (
        ("late", "naloxone.issued", "2026-03-01"),
        ("rel", "prison.released", "2026-02-01"),
        ("tr", "prison.treatment.started", "2026-01-15"),
        ("same-day", "naloxone.issued", "2026-03-01"),
        ("early", "naloxone.issued", "2026-01-01"),
    ):
        assert api.post(event(kind, event_id, person=person, occurred_on=day)).status_code == 201
    answer = api.client.get(f"/v1/people/nomis/{nomis()}/export", headers=api.admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # Oldest first, then in the order received.
    assert [e["event_id"] for e in body["events"]] == ["early", "tr", "rel", "late", "same-day"]
    shown = api.person("nomis", nomis()).json()["releases"]
    assert [r["stage"] for r in body["releases"]] == [r["stage"] for r in shown]
    assert [r["flags"] for r in body["releases"]] == [r["flags"] for r in shown]


def test_the_export_of_an_unknown_person_is_404_and_recorded(api: Api) -> None:
    answer, request_id = _get(api, f"/v1/people/nomis/{nomis(5)}/export", api.admin)
    assert_problem(answer, 404, "not-found")
    row = only_row(api, request_id)
    assert (row["what"], row["details"]["outcome"]) == ("EXPORT_SUBJECT", "not-found")


def test_a_pnc_export_is_not_taken_for_a_handover_view(api: Api) -> None:
    person = {"pnc": pnc()}
    assert api.post(event(event_id="rel-1", person=person)).status_code == 201
    answer = api.client.get(f"/v1/people/pnc/{pnc()}/export", headers=api.admin)
    assert answer.status_code == 200, answer.text
    assert [e["event_id"] for e in answer.json()["events"]] == ["rel-1"]


# -- never the identifier, never a change -------------------------------------------------------


def test_no_identifier_value_is_ever_in_the_trail(api: Api, readers: Readers) -> None:
    _read_people(api, readers)
    _get(api, f"/v1/people/nomis/{nomis(99)}", readers.probation[1])
    _get(api, f"/v1/people/nomis/{BOTH}/export", readers.admin[1])
    _get(api, "/v1/releases", readers.coordinator[1], as_of=AS_OF, format="csv")
    text = json.dumps(trail(api))
    for value in (*IDENTIFIER_VALUES, nomis(99)):
        assert value not in text


def test_the_audit_module_can_only_insert_and_select() -> None:
    """Append-only: `app/db/audit.py` imports no update or delete, and no other module of the
    app touches the audit table or writes SQL that would change it."""
    tree = ast.parse((APP / "db" / "audit.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy"
        for alias in node.names
    }
    assert "insert" in imported and "select" in imported
    assert not imported & {"update", "delete", "text", "literal_column"}
    changing = re.compile(r"(update|delete)\s*\(\s*audit|(UPDATE|DELETE\s+FROM)\s+audit\b", re.I)
    for path in APP.rglob("*.py"):
        source = path.read_text()
        assert not changing.search(source), path
        if path.relative_to(APP).as_posix() not in ("db/audit.py", "db/tables.py"):
            assert "AuditRow" not in source, path


# -- findings 6 of issue 20: read-back, subject access by person id, the server's request id ----


def test_reading_back_an_event_is_recorded_against_its_person(api: Api) -> None:
    assert api.post(event(event_id="ev-read")).status_code == 201
    answer, request_id = _get(api, "/v1/events/ev-read", api.submitter)
    assert answer.status_code == 200, answer.text
    row = only_row(api, request_id)
    person_id = person_id_of(api, nomis())
    assert (row["what"], row["subjectType"], row["subjectId"]) == ("READ_EVENT", "event", "ev-read")
    assert row["details"]["person_ids"] == [person_id]
    exported = api.client.get(f"/v1/people/nomis/{nomis()}/export", headers=api.admin).json()
    assert request_id in [line["correlationId"] for line in exported["audit"]]
    missing, refused_id = _get(api, "/v1/events/ev-none", api.submitter)
    assert missing.status_code == 404
    assert only_row(api, refused_id)["details"]["outcome"] == "not-found"


def test_an_event_id_spelling_a_person_id_puts_nothing_in_their_export(api: Api) -> None:
    assert api.post(event(event_id="ev-1", person={"nomis": nomis(1)})).status_code == 201
    victim = person_id_of(api, nomis(1))
    # Another person's event whose id is the first person's id, read back and retracted.
    other = event(event_id=victim, person={"nomis": nomis(2)})
    assert api.post(other, api.other_submitter).status_code == 201
    assert api.client.get(f"/v1/events/{victim}", headers=api.other_submitter).status_code == 200
    retracted = api.client.post(
        f"/v1/events/{victim}/retraction", json={"reason": "x"}, headers=api.other_submitter
    )
    assert retracted.status_code == 200, retracted.text
    exported = api.client.get(f"/v1/people/nomis/{nomis(1)}/export", headers=api.admin).json()
    assert exported["audit"], exported
    for line in exported["audit"]:
        assert line["subjectId"] != victim or line["subjectType"] == "person", line
        assert line["details"].get("org") != "PROVIDER-B", line


def test_the_trail_keeps_the_servers_request_id_and_the_callers_apart(api: Api) -> None:
    api.post(event())
    victim_read, victims_id = _get(api, f"/v1/people/nomis/{nomis()}", api.probation)
    assert victim_read.status_code == 200
    # A caller sends another request's id as its own: the trail does not take it.
    forged = api.client.get(
        f"/v1/people/nomis/{nomis()}", headers={**api.coordinator, "X-Request-ID": victims_id}
    )
    assert forged.status_code == 200
    assert forged.headers["x-request-id"] != victims_id
    row = only_row(api, victims_id)
    assert row["details"]["org"] == "PROBATION-NW"
    own = only_row(api, forged.headers["x-request-id"])
    assert own["callerRequestId"] == victims_id and own["details"]["org"] == "COORD-NW"
