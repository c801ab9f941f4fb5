"""The database's own limits: plain psycopg inserts of joinup-shaped event rows."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

COLUMNS = (
    "org, event_id, root_event_id, person_id, type, occurred_on, person, data, corrects,"
    " content_hash, received_at"
)


def conninfo(database_url: str) -> str:
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _rows(count: int, prefix: str, person_id: str) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        event_id = f"{prefix}-{n:08d}"
        data = {"provider": "PROVIDER-E08000010"}
        rows.append(
            (
                "PROVIDER-RAW",
                event_id,
                event_id,
                person_id,
                "community.referral.received",
                date(2026, 1, 1) + timedelta(days=n % 300),
                json.dumps({"nomis": "A1234BC"}),
                json.dumps(data),
                None,
                hashlib.sha256(event_id.encode()).hexdigest(),
                now,
            )
        )
    return rows


def _person(conn: psycopg.Connection[Any]) -> str:
    person_id = str(uuid.uuid4())
    conn.execute("INSERT INTO person (person_id, created_at) VALUES (%s, now())", (person_id,))
    conn.commit()
    return person_id


def multi_row(database_url: str, batches: int = 40, size: int = 1000) -> float:
    """Rows per second: one INSERT of `size` rows per transaction."""
    with psycopg.connect(conninfo(database_url)) as conn:
        person_id = _person(conn)
        all_rows = _rows(batches * size, "multi", person_id)
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * size)
        statement = f"INSERT INTO event ({COLUMNS}) VALUES {values}"
        started = time.perf_counter()
        for b in range(batches):
            chunk = all_rows[b * size : (b + 1) * size]
            conn.execute(statement, [field for row in chunk for field in row])
            conn.commit()
        return batches * size / (time.perf_counter() - started)


def one_per_transaction(database_url: str, count: int = 4000) -> float:
    """Rows per second: one single-row INSERT per transaction (one client)."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        person_id = _person(conn)
        rows = _rows(count, "single", person_id)
        statement = f"INSERT INTO event ({COLUMNS}) VALUES ({', '.join(['%s'] * 11)})"
        started = time.perf_counter()
        for row in rows:
            conn.execute(statement, row)
        return count / (time.perf_counter() - started)


def executemany(database_url: str, work: list[tuple[str, list[dict[str, Any]]]]) -> float:
    """Rows per second: the events of `work` (joinup's batches, in the order they are posted)
    as plain psycopg `executemany` of a one-row `INSERT ... ON CONFLICT DO NOTHING`, one batch
    of rows per commit, one client: the denominator of joinup's batch ingestion ratio."""
    columns = COLUMNS.count(",") + 1
    statement = (
        f"INSERT INTO event ({COLUMNS}) VALUES ({', '.join(['%s'] * columns)})"
        " ON CONFLICT DO NOTHING"
    )
    with psycopg.connect(conninfo(database_url)) as conn:
        person_id = _person(conn)
        now = datetime.now(UTC)
        batches = [[_row(org, event, person_id, now) for event in events] for org, events in work]
        started = time.perf_counter()
        for rows in batches:
            with conn.cursor() as cursor:
                cursor.executemany(statement, rows)
            conn.commit()
        return sum(map(len, batches)) / (time.perf_counter() - started)


def _row(org: str, event: dict[str, Any], person_id: str, now: datetime) -> tuple[Any, ...]:
    body = json.dumps(event, sort_keys=True)
    return (
        org,
        event["event_id"],
        event["event_id"],
        person_id,
        event["type"],
        date.fromisoformat(event["occurred_on"]),
        json.dumps(event["person"]),
        json.dumps(event["data"]),
        event.get("corrects"),
        hashlib.sha256(body.encode()).hexdigest(),
        now,
    )
