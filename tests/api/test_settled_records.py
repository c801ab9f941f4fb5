"""Record fields the rules leave open, settled in CONTRACT §5 (2026-12-07), and §3.3's rule that
a release type of `other` never replaces a more specific one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api
from tests.support.envelopes import event, nomis

PERSON = {"nomis": nomis(7)}
PICKUP_FIELDS = ("picked_up_on", "late_pickup_on", "retention_due_on", "retained_12w")


def _post(api: Api, *events: dict[str, Any]) -> None:
    answer = api.batch([{**e, "person": PERSON} for e in events])
    assert answer.json()["accepted"] == len(events), answer.text


def _record(api: Api, as_of: str) -> dict[str, Any]:
    answer = api.person("nomis", PERSON["nomis"], as_of=as_of)
    assert answer.status_code == 200, answer.text
    [record] = answer.json()["releases"]
    return dict(record)


def _pickup_facts(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record[name] for name in PICKUP_FIELDS)


def test_a_release_outside_the_cohort_shows_no_pickup_facts(api: Api) -> None:
    _post(
        api,
        event("prison.released", "rel", occurred_on="2026-03-02"),
        event("community.treatment.started", "start", occurred_on="2026-03-05"),
    )
    record = _record(api, "2026-07-01")
    assert record["stage"] == "not_in_cohort"
    assert _pickup_facts(record) == (None, None, None, None)
    # The metrics and the gap list agree with the record.
    listed = api.releases(as_of="2026-07-01").json()["items"]
    assert [_pickup_facts(r) for r in listed] == [(None, None, None, None)]


def test_an_excluded_release_shows_no_pickup_facts(api: Api) -> None:
    _post(
        api,
        event("prison.treatment.started", "t", occurred_on="2026-01-15"),
        event("prison.released", "rel", occurred_on="2026-03-02"),
        event("person.died", "died", occurred_on="2026-03-04"),
        event("community.treatment.started", "start", occurred_on="2026-03-05"),
    )
    record = _record(api, "2026-07-01")
    assert (record["stage"], record["excluded_reason"]) == ("excluded", "died")
    assert _pickup_facts(record) == (None, None, None, None)
    total = api.metrics(as_of="2026-07-01").json()["total"]
    assert (total["excluded"], total["picked_up"], total["retained_12w"]) == (1, 0, 0)


def test_retained_is_false_once_not_picked_up(api: Api) -> None:
    _post(
        api,
        event("prison.treatment.started", "t", occurred_on="2026-01-15"),
        event("prison.released", "rel", occurred_on="2026-03-02"),
    )
    assert _record(api, "2026-03-23")["retained_12w"] is None
    record = _record(api, "2026-03-24")
    assert (record["stage"], record["retained_12w"]) == ("not_picked_up", False)


@pytest.mark.parametrize("other_first", [True, False])
def test_a_release_type_of_other_never_replaces_a_specific_one(api: Api, other_first: bool) -> None:
    vague = event("prison.released", "vague", release_type="other", local_authority=None)
    specific = event("prison.released", "specific", release_type="hdc", probation_region=None)
    _post(api, *((vague, specific) if other_first else (specific, vague)))
    record = _record(api, "2026-03-05")
    assert (record["release_type"], record["local_authority"]) == ("hdc", "E08000010")
    listed = api.releases(as_of="2026-03-05").json()["items"]
    assert [r["release_type"] for r in listed] == ["hdc"]
