"""National scale: a million releases in PostgreSQL, and how fast coordinators' reads answer.

The year is loaded in bulk (COPY) rather than through the API, which would take too long for a
benchmark: each person's rows are built by the same code the ingestion path uses (the event row
and its content hash, the rules' record versions), in worker processes, and copied in.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from multiprocessing import Pool
from typing import Any

import httpx
import orjson
import psycopg

from app.cli import migrate
from app.demo import year as demo_data
from app.domain.events import Event
from app.domain.rules import Rules
from app.domain.versions import versions
from app.schemas.events import EVENT_ADAPTER
from app.services.derivation import lineage, version_row
from app.services.ingest.submissions import content_hash
from app.services.loading import Posting
from app.settings import Settings
from bench import ingest, overview
from bench.infra import ADMIN, joinup, postgres_database
from bench.raw import conninfo
from bench.report import Report

EVENT_COLUMNS = (
    "org",
    "event_id",
    "root_event_id",
    "person_id",
    "type",
    "occurred_on",
    "person",
    "data",
    "content_hash",
    "received_at",
)
Rows = dict[str, list[tuple[Any, ...]]]


def _person_rows(postings: list[Posting], received: datetime) -> Rows:
    nomis = postings[0].event["person"]["nomis"]
    person_id = str(uuid.uuid5(uuid.NAMESPACE_OID, nomis))
    rows: Rows = {"person": [(person_id, received)], "identifier": [], "event": [], "version": []}
    for scheme, value in postings[0].event["person"].items():
        # Held while counting events carry it: their number.
        carriers = sum(1 for p in postings if p.event["person"].get(scheme) == value)
        rows["identifier"].append((scheme, value, person_id, carriers))
    events = []
    for seq, posting in enumerate(postings):
        parsed = EVENT_ADAPTER.validate_python(posting.event)
        data = parsed.data.model_dump(mode="json")
        rows["event"].append(
            (
                posting.org,
                parsed.event_id,
                parsed.event_id,
                person_id,
                parsed.type,
                parsed.occurred_on,
                json.dumps(parsed.person.known),
                json.dumps(data),
                content_hash(parsed),
                received,
            )
        )
        events.append(
            Event(
                seq,
                parsed.type,
                parsed.occurred_on,
                parsed.data.model_dump(),
                lineage(posting.org, parsed.event_id),
            )
        )
    for version in versions(events, Rules()):
        row = version_row(person_id, version)
        row["record"] = orjson.dumps(row["record"]).decode()  # COPY takes the JSON as text
        rows["version"].append(tuple(row.values()))
    return rows


def _chunk_rows(chunk: list[list[Posting]]) -> Rows:
    received = datetime.now(UTC)
    merged: Rows = {"person": [], "identifier": [], "event": [], "version": []}
    for postings in chunk:
        for name, rows in _person_rows(postings, received).items():
            merged[name] += rows
    return merged


def _chunks(releases: int, size: int = 2000) -> Iterator[list[list[Posting]]]:
    chunk: list[list[Posting]] = []
    for person in demo_data.people(releases / demo_data.people_count()):
        chunk.append(person)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(database_url: str, releases: int) -> tuple[int, int]:
    """Load `releases` people with one release each; (events, versions) written."""
    version_columns = tuple(version_row("x", _sample_version()).keys())
    events = written_versions = 0
    with psycopg.connect(conninfo(database_url)) as conn, Pool(2) as pool:
        for rows in pool.imap(_chunk_rows, _chunks(releases)):
            _copy(conn, "person", ("person_id", "created_at"), rows["person"])
            identifiers = ("scheme", "value", "person_id", "carriers")
            _copy(conn, "identifier", identifiers, rows["identifier"])
            _copy(conn, "event", EVENT_COLUMNS, rows["event"])
            _copy(conn, "release_version", version_columns, rows["version"])
            conn.commit()
            events += len(rows["event"])
            written_versions += len(rows["version"])
        # What autovacuum does to a freshly loaded table in production: statistics, and the
        # visibility map without which the metrics' index-only scans visit every heap row.
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return events, written_versions


def _sample_version() -> Any:
    sample = [
        Event(0, "prison.released", date(2020, 1, 1), {"prison": "MDI", "release_type": "hdc"}, "x")
    ]
    return versions(sample, Rules())[0]


def _timed(
    client: httpx.Client, requests: list[tuple[str, dict[str, Any]]], headers: dict[str, str]
) -> tuple[float, float]:
    """p50 and p99 in ms of these GETs, one at a time."""
    took = []
    for path, params in requests:
        started = time.perf_counter()
        answer = client.get(path, params=params, headers=headers)
        took.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


def _deep_cursor(client: httpx.Client, headers: dict[str, str], pages: int) -> str:
    cursor: str | None = None
    for _ in range(pages):
        params: dict[str, str | int] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        cursor = client.get("/v1/releases", params=params, headers=headers).json()["next_cursor"]
    assert cursor is not None
    return cursor


def run(report: Report, releases: int, existing: str | None = None, samples: int = 200) -> None:
    """Load `releases` into a new database (or use `existing`, loaded before) and time reads."""
    if existing is not None:
        migrate(Settings(database_url=existing))
        _reads(report, existing, _count_people(existing), samples)
        overview.run(report, existing)
        return
    with postgres_database() as url:
        migrate(Settings(database_url=url))
        started = time.perf_counter()
        events, written = load(url, releases)
        seconds = time.perf_counter() - started
        report.add(
            f"national: bulk load of {releases:,} releases "
            f"({events:,} events, {written:,} record versions)",
            events / seconds,
            "events/s",
            note=f"{seconds:.0f} s",
        )
        _reads(report, url, releases, samples)
        overview.run(report, url)


def _count_people(database_url: str) -> int:
    with psycopg.connect(conninfo(database_url)) as conn:
        found = conn.execute("SELECT count(*) FROM person").fetchone()
    return int(found[0]) if found else 0


def _reads(report: Report, url: str, people: int, samples: int) -> None:
    """p50/p99 of coordinators' and probation's reads, one request at a time."""
    year = {
        "released_from": "2019-04-01",
        "released_to": "2020-03-31",
        "group_by": "probation_region",
    }
    with joinup(url, workers=2) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        keys = ingest.make_keys(server.url, ADMIN, ["NATIONAL-COORD"], "coordinator")
        keys |= ingest.make_keys(server.url, ADMIN, ["NATIONAL-PROBATION"], "probation")
        coordinator = {"Authorization": f"Bearer {keys['NATIONAL-COORD']}"}
        probation = {"Authorization": f"Bearer {keys['NATIONAL-PROBATION']}"}
        cursor = _deep_cursor(client, coordinator, 100)
        rng = random.Random(1)
        reads: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
            "gap list first page, no filter": ({"limit": 50}, coordinator),
            "gap list first page, stage=not_picked_up&flag=no_referral": (
                {"stage": "not_picked_up", "flag": "no_referral"},
                coordinator,
            ),
            "gap list first page, prison=MDI&stage=disengaged": (
                {"prison": "MDI", "stage": "disengaged"},
                coordinator,
            ),
            "gap list page 101 via cursor": ({"cursor": cursor}, coordinator),
        }
        for name, (params, headers) in reads.items():
            p50, p99 = _timed(client, [("/v1/releases", params)] * samples, headers)
            report.add(f"national: {name}", p99, "ms p99", p50=p50, p99=p99)
        people_paths: list[tuple[str, dict[str, Any]]] = [
            (f"/v1/people/nomis/{demo_data.nomis(rng.randrange(people))}", {})
            for _ in range(samples)
        ]
        p50, p99 = _timed(client, people_paths, probation)
        report.add("national: person lookup", p99, "ms p99", p50=p50, p99=p99)
        p50, p99 = _timed(client, [("/v1/metrics/continuity", year)] * 20, coordinator)
        report.add("national: a year's metrics by region", p99, "ms p99", p50=p50, p99=p99)
