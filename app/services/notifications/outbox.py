"""Changes as data: every write that re-derives records, and the hourly sweep, compare each
affected release's record as of today with its record as of the day it was last compared on, and
store the differences as change rows in the same transaction (a transactional outbox).

Comparing against the last comparison, not against the record just before the write, means a
change that time alone made (a window closing at midnight) and that the sweep has not found yet
is found by the first write that touches the release, and never twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from app.db import Connection, people
from app.db import changes as change_store
from app.db.release_filters import flag_mask
from app.domain.changes import Change, Snapshot, diff
from app.services import clock
from app.tuning.turns import Pace

Compared = Mapping[str, tuple[Snapshot, date | None]]


@asynccontextmanager
async def recorded(
    conn: Connection,
    person_ids: Collection[str],
    written: Sequence[Mapping[str, Any]],
    days: Collection[date] | None = None,
) -> AsyncIterator[None]:
    """Around a re-derivation of these people's records (of their releases dated `days` only,
    when given) that writes the version rows `written`: store the changes it makes to them as
    of today (and any that time made since they were last compared). `written` may also hold
    the rows of people never stored before, who are not among `person_ids`: all their records
    are new."""
    today = clock.today()
    before = await change_store.last_compared(conn, person_ids, today, days)
    yield
    after = {
        row["release_id"]: (change_store.snapshot(row), row["valid_from"])
        for row in written
        if _covers(row, today)
    }
    await compare(conn, person_ids, before, today, at=clock.now(), after=after)


def _covers(row: Mapping[str, Any], day: date) -> bool:
    until = row["valid_until"]
    return bool(row["valid_from"] <= day and (until is None or day < until))


async def compare(
    conn: Connection,
    person_ids: Collection[str],
    before: Compared,
    today: date,
    *,
    at: datetime,
    effective_on_start: bool = False,
    after: Mapping[str, tuple[Snapshot, date]] | None = None,
) -> int:
    """Store the changes from `before` to these people's records as of `today` (`after`, by
    release id with the day its version starts; read when not given), and mark their releases
    compared on `today`; the number of changes stored.

    A change takes effect `today`, or with `effective_on_start` (time-driven changes) on the
    day its version of the record starts.
    """
    if after is None:
        after = await change_store.records_on(conn, person_ids, today)
    rows: list[dict[str, Any]] = []
    pace = Pace()
    for release_id in sorted(after, key=lambda r: (after[r][0].person_id, r)):
        now_, starts = after[release_id]
        old = before.get(release_id)
        effective = starts if effective_on_start else today
        rows += [_row(c, effective, at) for c in diff(old[0] if old else None, now_)]
        await pace.step()
    stale = [r for r in after if before.get(r, (None, None))[1] != today]
    await change_store.mark_compared(conn, stale, today)
    if rows:
        named = await people.identifiers_of(conn, {row["person_id"] for row in rows})
        for row in rows:
            row["body"]["identifiers"] = named.get(row["person_id"], {})
        await change_store.add(conn, rows)
    return len(rows)


def _row(change: Change, effective_on: date, at: datetime) -> dict[str, Any]:
    record = change.after
    body: dict[str, Any] = {
        "type": change.type.value,
        "changed_at": at.isoformat(),
        "effective_on": effective_on.isoformat(),
        "release_id": record.release_id,
        "person_id": record.person_id,
        "identifiers": {},
        "prison": record.prison,
        "probation_region": record.probation_region,
        "local_authority": record.local_authority,
        "community_provider": record.community_provider,
        "released_on": record.released_on.isoformat(),
        "stage": record.stage,
    }
    if change.previous_stage is not None:
        body["previous_stage"] = change.previous_stage
    if change.flag is not None:
        flag = change.flag
        body["flag"] = {
            "code": flag.code,
            "raised_on": flag.raised_on.isoformat() if flag.raised_on else None,
            "resolved_on": flag.resolved_on.isoformat() if flag.resolved_on else None,
        }
    return {
        "type": change.type.value,
        "release_id": record.release_id,
        "person_id": record.person_id,
        "changed_at": at,
        "prison": record.prison,
        "probation_region": record.probation_region,
        "local_authority": record.local_authority,
        "community_provider": record.community_provider,
        "stage": record.stage,
        "flag": change.flag.code if change.flag else None,
        "open_flags": flag_mask(record.open_flags),
        "body": body,
    }
