"""Request ids, the JSON access log and /metrics, through the app on both databases."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.api.observability import JsonFormatter
from tests.support.api import Api, as_bytes
from tests.support.envelopes import event, nomis, pnc

GENERATED = re.compile(r"[0-9a-f]{32}")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: Api) -> Samples:
    answer = api.client.get("/metrics", headers=api.admin)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_the_server_gives_each_request_its_own_id_whatever_the_caller_sent(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="joinup.access"):
        answer = api.client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2_x"})
    own = answer.headers["x-request-id"]
    assert GENERATED.fullmatch(own)
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == own]
    assert [getattr(r, "caller_request_id", None) for r in logged] == ["lb-7f3a.2_x"]


@pytest.mark.parametrize(
    "sent", [None, "", "has space", "a" * 65, "semi;colon", "ünï".encode()], ids=repr
)
def test_a_missing_or_odd_request_id_is_replaced(api: Api, sent: str | bytes | None) -> None:
    headers = [(b"X-Request-ID", as_bytes(sent))] if sent is not None else []
    first = api.client.get("/healthz", headers=headers).headers["x-request-id"]
    second = api.client.get("/healthz", headers=headers).headers["x-request-id"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


def test_problems_carry_the_request_id(api: Api) -> None:
    sent = {"X-Request-ID": "trace-1"}
    not_found = api.client.get("/v1/no-such-thing", headers=sent)
    unauthorized = api.client.get("/v1/keys", headers=sent)
    forbidden = api.client.get("/v1/keys", headers={**sent, **api.submitter})
    assert [not_found.status_code, unauthorized.status_code, forbidden.status_code] == [
        404,
        401,
        403,
    ]
    for answer in (not_found, unauthorized, forbidden):
        assert GENERATED.fullmatch(answer.headers["x-request-id"])
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.fresh_app  # adds a route to its app
def test_an_unhandled_error_is_a_500_with_the_request_id(api: Api) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    api.client.app.add_api_route("/test-only/broken", broken)  # type: ignore[attr-defined]
    answer = api.client.get("/test-only/broken", headers={"X-Request-ID": "bug-1"})
    assert answer.status_code == 500
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    formatter = JsonFormatter()
    records = [r for r in caplog.records if r.name == "joinup.access"]
    return [json.loads(formatter.format(record)) for record in records]


def test_each_request_logs_one_json_line_with_the_route_template(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    probation = api.probation
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="joinup.access"):
        api.client.get(f"/v1/people/nomis/{nomis(7)}", headers=probation)
        api.client.get(f"/v1/people/pnc/{pnc(7)}/timeline", headers={"X-Request-ID": "t-2"})
    handover, timeline = _access_lines(caplog)
    assert handover["route"] == "/v1/people/{scheme}/{value}"
    assert (handover["method"], handover["status"], handover["org"]) == ("GET", 404, "PROBATION-NW")
    assert timeline["route"] == "/v1/people/{scheme}/{value}/timeline"
    assert (timeline["status"], timeline["org"], timeline["caller_request_id"]) == (
        401,
        None,
        "t-2",
    )
    assert GENERATED.fullmatch(str(timeline["request_id"]))
    fields = {"ts", "level", "request_id", "method", "route", "status", "duration_ms"}
    for line in (handover, timeline):
        assert fields <= set(line)
        assert line["level"] == "INFO"
        assert isinstance(line["duration_ms"], float)
    text = caplog.text + json.dumps([handover, timeline])
    assert nomis(7) not in text and pnc(7).split("/")[1] not in text
    assert probation["Authorization"].split()[1] not in text


@pytest.mark.parametrize("created", [0.0, 1772446500.0009, 1772446500.5, 1772446559.999])
def test_a_line_is_stamped_in_utc_to_the_millisecond(created: float) -> None:
    record = logging.makeLogRecord({"msg": "x", "created": created, "msecs": created % 1 * 1000})
    line = json.loads(JsonFormatter().format(record))
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert line["ts"] == expected


def test_an_unmatched_path_is_logged_without_its_text(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="joinup.access"):
        api.client.get(f"/v2/people/{nomis(9)}")
    (line,) = _access_lines(caplog)
    assert (line["route"], line["status"]) == ("unmatched", 404)
    assert nomis(9) not in json.dumps(line)


@pytest.mark.fresh_app  # counts from a new start
def test_metrics_need_no_key_and_count_requests_and_events(api: Api) -> None:
    first = event(event_id="m-1", person={"nomis": nomis(1)})
    second = event("naloxone.issued", "m-2", person={"nomis": nomis(2)})
    invalid = event(event_id="m-3", person={"nomis": "not-a-nomis"})
    assert api.post(first).status_code == 201
    answer = api.batch([first, second, invalid, {"event_id": 5}])
    assert answer.json()["rejected"] == 2
    samples = scrape(api)
    events = "joinup_events_total"
    org = "PROVIDER-A"
    assert value(samples, events, org=org, type="prison.released", status="accepted") == 1
    assert value(samples, events, org=org, type="prison.released", status="duplicate") == 1
    assert value(samples, events, org=org, type="naloxone.issued", status="accepted") == 1
    assert value(samples, events, org=org, type="invalid", status="rejected") == 2
    requests = "joinup_http_requests_total"
    batch = {"method": "POST", "route": "/v1/events/batch", "status": "200"}
    assert value(samples, requests, **batch) == 1
    assert value(samples, "joinup_http_request_duration_seconds_count", **batch) == 1
    assert value(samples, requests, method="POST", route="/v1/events", status="201") == 1
    assert value(samples, "joinup_ingest_duration_seconds_count", operation="batch") == 1
    assert value(samples, "joinup_ingest_duration_seconds_count", operation="event") == 1


def test_metrics_show_the_database_pools(api: Api) -> None:
    samples = scrape(api)
    pools = {dict(labels)["pool"] for name, labels in samples if name == "joinup_db_pool_size"}
    assert pools == {"read", "write", "batch"}
    for pool in pools:
        assert value(samples, "joinup_db_pool_size", pool=pool) >= 1
        assert value(samples, "joinup_db_pool_checked_out", pool=pool) == 0
