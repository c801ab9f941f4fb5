"""A few hundred people driven through a real server: the handover view equals the rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from app.demo import year as demo_data
from app.domain.events import Event
from app.schemas.events import EVENT_ADAPTER
from app.services.derivation import lineage
from tests.support.api import key_body
from tests.support.expected import handover, records
from tests.support.server import ADMIN, serve

AS_OF = (date(2019, 6, 1), date(2019, 12, 31), date(2020, 9, 1))


def _keys(client: httpx.Client, orgs: set[str]) -> dict[str, dict[str, str]]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    made = {}
    for org in [*sorted(orgs), "PROBATION"]:
        role = "probation" if org == "PROBATION" else "submitter"
        answer = client.post("/v1/keys", json=key_body(org, role), headers=admin)
        made[org] = {"Authorization": f"Bearer {answer.json()['secret']}"}
    return made


def _as_events(postings: list[Any]) -> list[Event]:
    """The postings as the rules see them once stored (arrival order = posting order)."""
    events = []
    for seq, posting in enumerate(postings):
        parsed = EVENT_ADAPTER.validate_python(posting.event)
        data = parsed.data.model_dump()
        events.append(
            Event(seq, parsed.type, parsed.occurred_on, data, lineage(posting.org, parsed.event_id))
        )
    return events


def test_generated_people_through_http(database_url: str, tmp_path: Path) -> None:
    people = list(demo_data.people(scale=0.01))
    orgs = {posting.org for person in people for posting in person}
    env = {"JOINUP_ADMIN_KEY": ADMIN}
    with (
        serve(database_url, tmp_path / "server.log", env=env) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        keys = _keys(client, orgs)
        batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for person in people:
            for posting in person:
                batches[posting.org].append(posting.event)
        for org, events in batches.items():
            answer = client.post("/v1/events/batch", json={"events": events}, headers=keys[org])
            assert answer.json()["accepted"] == len(events), answer.text
        for person in people:
            nomis = person[0].event["person"]["nomis"]
            identifiers = person[0].event["person"]
            # Batches were posted organisation by organisation: that is the arrival order.
            arrived = sorted(person, key=lambda p: list(batches).index(p.org))
            for as_of in AS_OF:
                view = client.get(
                    f"/v1/people/nomis/{nomis}",
                    params={"as_of": as_of.isoformat()},
                    headers=keys["PROBATION"],
                ).json()
                stored = _as_events(arrived)
                want = records(view["person_id"], identifiers, stored, as_of)
                assert view["releases"] == handover(want[::-1], stored, as_of), nomis
    assert len(people) > 200
