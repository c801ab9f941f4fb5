"""Changes as data (CONTRACT §7): the outbox written with each write, the feed, subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from app.db import changes as change_store
from app.db.engine import Database
from app.main import delivering
from app.services import clock
from app.services.notifications import delivery, sweep, webhooks, worker
from app.settings import Settings
from tests.support.api import Api, running, runtime_of
from tests.support.envelopes import assert_problem, event, london_today, nomis
from tests.support.server import free_port


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with running(database_url, inline_worker=False, webhook_allow_insecure=True) as client:
        yield client


def _on_ost_release(n: int, released_on: date, prison: str = "MDI") -> list[dict[str, Any]]:
    person = {"nomis": nomis(n)}
    started = str(released_on - timedelta(days=30))
    return [
        event("prison.treatment.started", f"t-{n}", person=person, occurred_on=started),
        event(
            "prison.released", f"r-{n}", person=person, occurred_on=str(released_on), prison=prison
        ),
    ]


def _changes(api: Api, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    answer = api.client.get("/v1/changes", params=params, headers=headers or api.coordinator)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _kinds(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(c["type"], (c.get("flag") or {}).get("code")) for c in items]


def test_a_new_record_makes_created_then_each_open_flag_raised(api: Api) -> None:
    today = london_today()
    assert api.batch(_on_ost_release(1, today)).status_code == 200
    items = _changes(api)["items"]
    assert _kinds(items) == [
        ("record.created", None),
        ("record.flag_raised", "no_ost"),
        ("record.flag_raised", "no_naloxone"),
        ("record.flag_raised", "no_licence_condition"),
        ("record.flag_raised", "no_referral"),
    ]
    ids = [int(c["change_id"]) for c in items]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    first = items[0]
    assert first["identifiers"] == {"nomis": nomis(1)}
    assert first["stage"] == "awaiting_pickup" and first["prison"] == "MDI"
    assert first["effective_on"] == str(today) and first["released_on"] == str(today)
    assert items[1]["flag"] == {"code": "no_ost", "raised_on": str(today), "resolved_on": None}


def test_a_later_event_makes_only_what_it_changed(api: Api) -> None:
    today = london_today()
    api.batch(_on_ost_release(1, today))
    last = _changes(api)["next_after"]
    person = {"nomis": nomis(1)}
    naloxone = event("naloxone.issued", "n-1", person=person, occurred_on=str(today))
    assert api.post(naloxone).status_code == 201
    assert _kinds(_changes(api, after=last)["items"]) == [("record.flag_resolved", "no_naloxone")]
    started = event("community.treatment.started", "c-1", person=person, occurred_on=str(today))
    assert api.post(started).status_code == 201
    later = _changes(api, after=last)["items"][1:]
    assert later[0]["type"] == "record.stage_changed"
    assert (later[0]["previous_stage"], later[0]["stage"]) == ("awaiting_pickup", "in_treatment")
    assert ("record.flag_resolved", "no_referral") in _kinds(later)


def test_a_backdated_event_that_leaves_today_alone_makes_no_change(api: Api) -> None:
    released = london_today() - timedelta(days=200)
    person = {"nomis": nomis(1)}

    def community(kind: str, days: int) -> dict[str, Any]:
        day = str(released + timedelta(days=days))
        return event(
            f"community.treatment.{kind}", f"{kind}-{days}", person=person, occurred_on=day
        )

    api.batch([*_on_ost_release(1, released), community("started", 3)])
    last = _changes(api)["next_after"]
    # A week out of treatment soon after pickup: the record as of those days changes, but the
    # person was back in treatment long before the retention point, so today's record does not.
    assert api.batch([community("exited", 10), community("started", 12)]).status_code == 200
    past = api.person("nomis", nomis(1), as_of=str(released + timedelta(days=11))).json()
    assert past["releases"][0]["stage"] == "disengaged"
    assert _changes(api, after=last)["items"] == []


def test_the_feed_pages_filters_by_type_and_keeps_to_the_scope(api: Api) -> None:
    today = london_today()
    api.batch(_on_ost_release(1, today, prison="LPI") + _on_ost_release(2, today, prison="MDI"))
    created = _changes(api, types="record.created")["items"]
    assert sorted(c["prison"] for c in created) == ["LPI", "MDI"]
    first = _changes(api, limit=2)
    rest = _changes(api, after=first["next_after"])
    assert len(first["items"]) == 2 and len(rest["items"]) == 8
    scoped = api.client.post(
        "/v1/keys",
        json={"org": "COORD-MDI", "roles": ["probation"], "scope": {"prisons": ["MDI"]}},
        headers=api.admin,
    ).json()["secret"]
    seen = _changes(api, {"Authorization": f"Bearer {scoped}"})["items"]
    assert {c["prison"] for c in seen} == {"MDI"} and len(seen) == 5
    assert api.client.get("/v1/changes", headers=api.submitter).status_code == 403
    assert_problem(
        api.client.get("/v1/changes", params={"after": "x"}, headers=api.coordinator), 422
    )
    misspelt = api.client.get("/v1/changes", params={"type": "x"}, headers=api.coordinator)
    assert "'type'" in assert_problem(misspelt, 422, "validation-error")["detail"]


def test_the_feed_takes_an_empty_value_as_its_default_and_types_separated_by_commas(
    api: Api,
) -> None:
    api.batch(_on_ost_release(1, london_today()))
    everything = _changes(api)
    assert _changes(api, after="", limit="", types="") == everything
    assert len(everything["items"]) == 5
    assert _kinds(_changes(api, types="record.created,record.stage_changed")["items"]) == [
        ("record.created", None)
    ]
    mixed = _changes(api, types=["record.flag_raised", "record.created,record.stage_changed"])
    assert mixed == everything
    for refused in ({"types": "record.created,record.deleted"}, {"limit": "0"}, {"after": "-1"}):
        answer = api.client.get("/v1/changes", params=refused, headers=api.coordinator)
        assert_problem(answer, 422, "validation-error")
    named = api.client.get(
        "/v1/changes", params={"types": "record.created,nope"}, headers=api.coordinator
    )
    [error] = assert_problem(named, 422)["errors"]
    assert error["loc"] == ["query", "types", 1] and "'nope'" in error["msg"]


def test_subscriptions_are_made_shown_once_listed_and_deleted(api: Api) -> None:
    body = {
        "url": "https://hooks.example.org/joinup",
        "types": ["record.flag_raised"],
        "filter": {"flags": ["no_ost"], "prisons": ["mdi"]},
    }
    made = api.client.post("/v1/subscriptions", json=body, headers=api.coordinator)
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"].startswith("whsec_") and sub["status"] == "active"
    assert sub["filter"] == {"flags": ["no_ost"], "prisons": ["MDI"]}
    path = f"/v1/subscriptions/{sub['subscription_id']}"
    shown = api.client.get(path, headers=api.coordinator).json()
    assert "secret" not in shown and shown["last_delivery"] is None
    listed = api.client.get("/v1/subscriptions", headers=api.admin).json()
    assert [s["subscription_id"] for s in listed] == [sub["subscription_id"]]
    other = api.key("COORD-ELSEWHERE", "coordinator")
    assert api.client.get(path, headers=other).status_code == 404
    assert api.client.get("/v1/subscriptions", headers=other).json() == []
    assert api.client.get(f"{path}/deliveries", headers=api.coordinator).json() == []
    assert api.client.delete(path, headers=api.coordinator).status_code == 204
    assert api.client.get(path, headers=api.coordinator).status_code == 404


def test_a_scoped_admin_sees_and_manages_only_subscriptions_made_within_its_scope(
    api: Api,
) -> None:
    def key(org: str, role: str, prisons: list[str] | None = None) -> dict[str, str]:
        body = {"org": org, "roles": [role], **({"scope": {"prisons": prisons}} if prisons else {})}
        made = api.client.post("/v1/keys", json=body, headers=api.admin)
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json()['secret']}"}

    def subscribe(headers: dict[str, str]) -> str:
        made = api.client.post(
            "/v1/subscriptions", json={"url": "https://hooks.example.org/x"}, headers=headers
        )
        assert made.status_code == 201, made.text
        subscription_id: str = made.json()["subscription_id"]
        return subscription_id

    mdi = subscribe(key("PROBATION-MDI", "probation", ["MDI"]))
    lpi = subscribe(key("PROBATION-LPI", "probation", ["LPI"]))
    everywhere = subscribe(api.coordinator)
    mdi_admin = key("ADMIN-MDI", "admin", ["MDI"])
    listed = api.client.get("/v1/subscriptions", headers=mdi_admin).json()
    assert [s["subscription_id"] for s in listed] == [mdi]
    for outside in (lpi, everywhere):
        path = f"/v1/subscriptions/{outside}"
        assert_problem(api.client.get(path, headers=mdi_admin), 404, "not-found")
        assert_problem(api.client.delete(path, headers=mdi_admin), 404, "not-found")
        assert_problem(api.client.get(f"{path}/deliveries", headers=mdi_admin), 404)
    assert api.client.get(f"/v1/subscriptions/{mdi}", headers=mdi_admin).status_code == 200
    every = api.client.get("/v1/subscriptions", headers=api.admin).json()
    assert {s["subscription_id"] for s in every} == {mdi, lpi, everywhere}
    assert api.client.delete(f"/v1/subscriptions/{mdi}", headers=mdi_admin).status_code == 204


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest",
        "https://localhost/x",
        "https://[::1]/x",
        "ftp://x/y",
    ],
)
def test_a_url_that_is_not_https_on_a_public_address_is_refused(
    database_url: str, url: str
) -> None:
    with running(database_url, inline_worker=False) as api:
        made = api.client.post("/v1/subscriptions", json={"url": url}, headers=api.coordinator)
        assert_problem(made, 422, "validation-error")
        assert api.client.get("/v1/subscriptions", headers=api.admin).json() == []


def test_bad_subscriptions_are_refused(api: Api) -> None:
    for body in (
        {"url": "https://a.example/x", "types": ["record.deleted"]},
        {"url": "https://a.example/x", "filter": {"stages": ["lost"]}},
        {"url": "https://a.example/x", "filter": {"colour": ["red"]}},
        {"types": ["record.created"]},
    ):
        answer = api.client.post("/v1/subscriptions", json=body, headers=api.coordinator)
        assert_problem(answer, 422)
    submitter = api.client.post(
        "/v1/subscriptions", json={"url": "https://a.example/x"}, headers=api.submitter
    )
    assert submitter.status_code == 403


def test_a_window_closing_with_no_event_is_found_by_the_sweep(api: Api, database_url: str) -> None:
    today = london_today()
    released = today - timedelta(days=21)
    api.batch(_on_ost_release(1, released))
    last = _changes(api)["next_after"]

    async def sweep_on(*days: date) -> list[int]:
        db = Database(database_url)
        try:
            return [await sweep.sweep(db, day) for day in days]
        finally:
            await db.dispose()

    tomorrow = today + timedelta(days=1)
    # The first look starts the comparisons; the next day's finds the window closed, once.
    assert asyncio.run(sweep_on(today, tomorrow, tomorrow)) == [0, 2, 0]
    found = _changes(api, after=last)["items"]
    assert _kinds(found) == [
        ("record.stage_changed", None),
        ("record.flag_raised", "not_picked_up"),
    ]
    assert found[0]["stage"] == "not_picked_up" and found[0]["effective_on"] == str(tomorrow)
    # A write the day after compares from the sweep's day: nothing is found twice.
    clock.set_offset_days(1)
    try:
        naloxone = event(
            "naloxone.issued", "n-1", person={"nomis": nomis(1)}, occurred_on=str(tomorrow)
        )
        assert api.post(naloxone).status_code == 201
    finally:
        clock.set_offset_days(0)
    again = _changes(api, after=found[-1]["change_id"])["items"]
    assert _kinds(again) == [("record.flag_resolved", "no_naloxone")]


def test_a_running_worker_sweeps_at_start_and_every_interval_so_a_closing_window_is_found(
    api: Api, database_url: str
) -> None:
    """The worker's own timer, not a restart, finds what time alone changed: here its interval
    is a tenth of a second instead of an hour, and the process's clock moves on a day while it
    runs. The API is asked from another thread: the worker's transactions run on this loop,
    and on SQLite a read's audit row waits for them."""
    today = london_today()
    api.batch(_on_ost_release(1, today - timedelta(days=21)))
    last = _changes(api)["next_after"]
    how = delivering(runtime_of(api).settings)

    async def run_until_found() -> None:
        db = Database(database_url)
        running_worker, stop = worker.start(
            worker.Worker(db, how, worker.standard_jobs(0.1), poll_seconds=0.02)
        )
        try:
            # The sweep at start only begins the comparisons: nothing is found today.
            for _ in range(100):
                async with db.write() as conn:
                    if (await change_store.lock_sweep(conn))[1] == today:
                        break
                await asyncio.sleep(0.1)
            assert (await asyncio.to_thread(_changes, api, after=last))["items"] == []
            clock.set_offset_days(1)
            for _ in range(100):
                if (await asyncio.to_thread(_changes, api, after=last))["items"]:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # more sweeps, which must find nothing more
        finally:
            stop.set()
            await running_worker
            clock.set_offset_days(0)
            await db.dispose()

    asyncio.run(run_until_found())
    found = _changes(api, after=last)["items"]
    assert _kinds(found) == [
        ("record.stage_changed", None),
        ("record.flag_raised", "not_picked_up"),
    ]


def test_two_sweeps_at_once_find_each_time_driven_change_once(api: Api, database_url: str) -> None:
    today = london_today()
    api.batch(_on_ost_release(1, today - timedelta(days=21)))
    last = _changes(api)["next_after"]
    tomorrow = today + timedelta(days=1)

    async def sweep_twice() -> list[int]:
        first, second = Database(database_url), Database(database_url)
        try:
            assert await sweep.sweep(first, today) == 0  # the first look only starts
            if first.dialect == "sqlite":
                # One writer at a time: the second sweep comes after the first, and finds
                # the day done.
                return [await sweep.sweep(db, tomorrow) for db in (first, second)]
            # While one transaction holds the sweep's row, another sweep skips it (the time
            # limit only turns a sweep that waited for the row into a failure, not a hang).
            async with first.write() as conn:
                assert (await change_store.lock_sweep(conn))[0]
                assert await asyncio.wait_for(sweep.sweep(second, tomorrow), 30) == 0
            both = await asyncio.gather(sweep.sweep(first, tomorrow), sweep.sweep(second, tomorrow))
            return sorted(both)
        finally:
            await first.dispose()
            await second.dispose()

    assert sorted(asyncio.run(sweep_twice())) == [0, 2]
    assert _kinds(_changes(api, after=last)["items"]) == [
        ("record.stage_changed", None),
        ("record.flag_raised", "not_picked_up"),
    ]


def test_a_receiver_failing_for_the_whole_schedule_disables_the_subscription_and_loses_nothing(
    database_url: str,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: every attempt fails
    # The whole schedule, 3 days, in about a quarter of a second.
    settings: dict[str, Any] = {"webhook_allow_insecure": True, "webhook_retry_scale": 1e-6}
    with running(database_url, **settings) as api:
        made = api.client.post("/v1/subscriptions", json={"url": closed}, headers=api.coordinator)
        path = f"/v1/subscriptions/{made.json()['subscription_id']}"
        api.batch(_on_ost_release(1, london_today()))
        how = delivering(Settings(database_url=database_url, **settings))

        async def work_until_disabled() -> None:
            db = Database(database_url)
            try:
                async with webhooks.client() as http:
                    for _ in range(200):
                        await delivery.match(db)
                        await delivery.deliver(db, http, how)
                        if api.client.get(path, headers=api.coordinator).json()["status"] == (
                            "disabled"
                        ):
                            return
                        await asyncio.sleep(0.02)
            finally:
                await db.dispose()

        asyncio.run(work_until_disabled())
        shown = api.client.get(path, headers=api.coordinator).json()
        assert shown["status"] == "disabled" and shown["last_delivery"]["delivered"] is False
        attempts = api.client.get(f"{path}/deliveries", headers=api.coordinator).json()
        # Only the person's first change was tried: the others wait behind it.
        assert {a["change_id"] for a in attempts} == {_changes(api)["items"][0]["change_id"]}
        assert all(a["status_code"] is None and a["error"] for a in attempts)
        metrics = api.client.get("/metrics", headers=api.admin).text
        assert "joinup_webhook_queue_depth 5.0" in metrics
        assert "joinup_webhook_subscriptions_disabled 1.0" in metrics
        enabled = api.client.post(f"{path}/enable", headers=api.coordinator)
        assert enabled.status_code == 200 and enabled.json()["status"] == "active"
