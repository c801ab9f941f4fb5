"""Gap lists and metrics agree with the rules run directly on the same events (CONTRACT §5).

Random people are posted through the API; for a random as-of date the gap list (every filter,
every page, CSV) and the metrics (every count, every grouping) must equal what `derive` gives.
Small rule values make the pickup window, the retention point and the OST grace all fall inside
the histories' span, so their boundaries are exercised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.metrics import summarise, tally
from app.domain.records import derive
from app.domain.rules import Rules
from tests.support.api import Api, running
from tests.support.expected import as_stored, jsonable, records, reset
from tests.support.histories import dates, posted_histories

RULES = Rules(pickup_window_days=5, retention_days=10, ost_grace_days=1)
SETTINGS = {"pickup_window_days": 5, "retention_days": 10, "ost_grace_days": 1}
FLAGS = ("no_ost", "no_naloxone", "no_licence_condition", "no_referral", "not_picked_up")


@pytest.fixture
def small_rules_api(database_url: str) -> Iterator[Api]:
    with running(database_url, **SETTINGS) as api:
        yield api


People = list[tuple[dict[str, str], list[dict[str, Any]], list[Any]]]


def _post_people(api: Api, people: People, as_of: date) -> list[dict[str, Any]]:
    """Post every person's events; their expected records as of `as_of`, in gap-list order."""
    expected = []
    for n, (_, envelopes, events) in enumerate(people):
        person = {"crn": f"X{n:06d}"}
        renamed = [{**e, "person": person, "event_id": f"p{n}-{e['event_id']}"} for e in envelopes]
        answer = api.batch(renamed)
        assert answer.json()["accepted"] == len(renamed), answer.text
        person_id = answer.json()["results"][0]["person_id"]
        stored = as_stored([_renamed(e, n) for e in events], "PROVIDER-A")
        expected += records(person_id, person, stored, as_of, RULES)
    return sorted(expected, key=lambda r: (_desc(r["released_on"]), r["release_id"]))


def _renamed(event: Any, n: int) -> Any:
    from dataclasses import replace

    return replace(event, lineage=f"p{n}-{event.lineage}")


def _desc(day: str) -> int:
    return -date.fromisoformat(day).toordinal()


def _walk(api: Api, limit: int, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = api.releases(limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def _matches(record: dict[str, Any], **wanted: Any) -> bool:
    open_flags = {f["code"] for f in record["flags"] if f["open"]}
    for name, value in wanted.items():
        if name == "flag" and not set(value) <= open_flags:
            return False
        if name != "flag" and record[name] != value:
            return False
    return True


people_strategy = st.lists(posted_histories(order_free=True, max_events=14), min_size=1, max_size=5)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=people_strategy, as_of=dates(days=60), limit=st.integers(1, 3))
def test_gap_list_walks_every_filter_like_the_rules(
    small_rules_api: Api, database_url: str, people: People, as_of: date, limit: int
) -> None:
    api = small_rules_api
    reset(database_url)
    expected = _post_people(api, people, as_of)
    day = as_of.isoformat()
    assert _walk(api, limit, as_of=day) == expected
    filters: list[dict[str, Any]] = [{"stage": r["stage"]} for r in expected]
    filters += [{"flag": [code]} for code in FLAGS] + [{"flag": ["no_referral", "no_ost"]}]
    filters += [{"prison": r["prison"], "stage": r["stage"]} for r in expected[:2]]
    for r in expected[:2]:
        filters.append({"local_authority": r["local_authority"]} if r["local_authority"] else {})
        filters.append({"released_from": r["released_on"], "released_to": r["released_on"]})
    for wanted in filters:
        found = _walk(api, 500, as_of=day, **wanted)
        bounds = {k: v for k, v in wanted.items() if k not in ("released_from", "released_to")}
        want = [r for r in expected if _matches(r, **bounds)]
        if "released_from" in wanted:
            want = [r for r in want if r["released_on"] == wanted["released_from"]]
        assert found == want, wanted


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=people_strategy, as_of=dates(days=60))
def test_csv_has_the_rows_of_the_json_list(
    small_rules_api: Api, database_url: str, people: People, as_of: date
) -> None:
    api = small_rules_api
    reset(database_url)
    expected = _post_people(api, people, as_of)
    answer = api.releases(as_of=as_of.isoformat(), format="csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["release_id"] for row in rows] == [r["release_id"] for r in expected]
    assert [row["stage"] for row in rows] == [r["stage"] for r in expected]
    by_accept = api.client.get(
        "/v1/releases",
        params={"as_of": as_of.isoformat()},
        headers={**api.coordinator, "Accept": "text/csv"},
    )
    assert by_accept.text == answer.text


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=people_strategy,
    as_of=dates(days=60),
    group_by=st.sampled_from(["prison", "probation_region", "local_authority", "month"]),
)
def test_metrics_count_what_the_rules_count(
    small_rules_api: Api, database_url: str, people: People, as_of: date, group_by: str
) -> None:
    api = small_rules_api
    reset(database_url)
    expected = _post_people(api, people, as_of)
    answer = api.metrics(as_of=as_of.isoformat(), group_by=group_by)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == jsonable(summarise(_tallies(people, as_of)))
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in expected:
        key = record["released_on"][:7] if group_by == "month" else record[group_by]
        groups.setdefault(key, []).append(record)
    assert {row["group"] for row in body["rows"]} == set(groups)
    for row in body["rows"]:
        assert row["released_in_treatment"] == sum(
            r["stage"] != "not_in_cohort" for r in groups[row["group"]]
        )


def _tallies(people: People, as_of: date) -> list[Any]:
    return [tally(r) for _, _, events in people for r in derive(events, as_of, RULES)]
