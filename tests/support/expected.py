"""What the API should answer, worked out by running the rules directly on the same events."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import orjson
from sqlalchemy import create_engine, text

from app.db.engine import sync_url
from app.domain.events import Event
from app.domain.records import derive
from app.domain.rules import Rules
from app.services.derivation import lineage
from app.services.views import record_view


def as_stored(events: Iterable[Event], org: str) -> list[Event]:
    """The events as the service hands them to the rules: lineage from (org, event id)."""
    return [replace(e, lineage=lineage(org, e.lineage)) for e in events]


def records(
    person_id: str,
    identifiers: Mapping[str, str],
    events: Sequence[Event],
    as_of: date,
    rules: Rules | None = None,
) -> list[dict[str, Any]]:
    """The person's records as the API renders them (JSON types), oldest release first."""
    derived = derive(events, as_of, rules or Rules())
    return [jsonable(record_view(r, person_id, identifiers)) for r in derived]


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def reset(database_url: str) -> None:
    """Empty every table but the keys, so a running app and its test keys carry on."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            for table in (
                "release_version",
                "event",
                "identifier",
                "person",
                "audit",
                "change",
                "release_notice",
            ):
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


def stored_and_fresh(database_url: str, rules: Rules | None = None) -> tuple[set[Any], set[Any]]:
    """The stored release versions, and those a fresh derivation from the stored events gives."""
    from app.domain.versions import versions
    from app.services.derivation import group_by_person, version_row

    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            counting = conn.execute(
                text(
                    "SELECT seq, org, root_event_id, person_id, type, occurred_on, data FROM event"
                    " WHERE superseded_by IS NULL AND retracted_at IS NULL"
                )
            ).all()
            stored = conn.execute(text("SELECT * FROM release_version")).mappings().all()
    finally:
        engine.dispose()
    fresh = {
        _frozen(version_row(person_id, v))
        for person_id, events in group_by_person(_typed(counting)).items()
        for v in versions(events, rules or Rules())
    }
    return {_frozen(dict(row)) for row in stored}, fresh


def _typed(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    """SQLite hands back dates and JSON as text through a bare text() query. The rows keep
    their columns' order, which is how the service reads them."""
    typed = []
    for row in rows:
        fields = dict(row._mapping)
        if isinstance(fields["occurred_on"], str):
            fields["occurred_on"] = date.fromisoformat(fields["occurred_on"])
        if isinstance(fields["data"], str):
            fields["data"] = json.loads(fields["data"])
        typed.append(tuple(fields.values()))
    return typed


def _frozen(row: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, _canonical(k, v)) for k, v in row.items()))


def _canonical(column: str, value: Any) -> str:
    if column == "record" and value is not None:
        # Stored JSON comes back as text (SQLite through text()) or parsed; dates as strings.
        parsed = json.loads(value) if isinstance(value, str) else value
        return orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)


def handover(
    records: list[dict[str, Any]], events: Sequence[Event], as_of: date
) -> list[dict[str, Any]]:
    """`records` as the handover view shows them: with the provider whose treatment start is the
    pickup (the first by code when several started that day), and the days left while the
    window is open."""
    providers: dict[str, str] = {}
    for e in events:
        if e.type == "community.treatment.started" and e.data.get("provider") is not None:
            day = e.occurred_on.isoformat()
            providers[day] = min(providers.get(day, e.data["provider"]), e.data["provider"])
    shown = []
    for record in records:
        started = record["picked_up_on"] or record["late_pickup_on"]
        open_window = record["stage"] == "awaiting_pickup"
        days_left = (date.fromisoformat(record["pickup_due_by"]) - as_of).days
        shown.append(
            {
                **record,
                "picked_up_by": providers.get(started) if started else None,
                "pickup_days_left": days_left if open_window else None,
            }
        )
    return shown
