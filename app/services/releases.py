"""Coordinators' gap lists: releases as of a date, filtered, paged, or streamed as CSV."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Final, TypeVar

import anyio
import orjson

from app.db import Connection
from app.db import releases as release_store
from app.db.engine import Database
from app.db.releases import ShownRow

__all__ = [
    "Sent",
    "export_csv",
    "page",
    "query",
    "record_csv",
    "stream_csv",
]
from app.domain import identifiers
from app.domain.filters import PageKey, ReleaseFilter, Scope, stored
from app.domain.rules import Rules
from app.services import audit, clock, cursors, spreadsheet
from app.services.errors import ErrorItem, Invalid
from app.services.people import shown
from app.services.principal import Principal
from app.services.views import StoredView, encoded_view, stored_view

V = TypeVar("V")

CSV_CHUNK = 500


def encode_cursor(key: PageKey, where: ReleaseFilter) -> str:
    """The position after `key` in the list `where` selects, with the list's as-of date and
    filters (app/services/cursors.py)."""
    position = {"r": key.released_on.isoformat(), "id": key.release_id}
    return cursors.encode(position, {**_filters_of(where), "as_of": where.as_of})


def _filters_of(where: ReleaseFilter) -> dict[str, Any]:
    return {name: getattr(where, name) for name in _FILTERS}


_FILTERS: Final = tuple(f.name for f in fields(ReleaseFilter) if f.name not in ("as_of", "scope"))
_DATES: Final = ("released_from", "released_to", "as_of")


def _continued(
    where: ReleaseFilter, as_of: date | None, cursor: str
) -> tuple[ReleaseFilter, PageKey]:
    """The list a cursor continues, with its own filters and as-of date, and where its next
    page starts; refused when other filters are given (CONTRACT §5)."""
    continued = cursors.decode(cursor, {**_filters_of(where), "as_of": as_of})
    try:
        after = PageKey(date.fromisoformat(continued.position["r"]), str(continued.position["id"]))
        carried: dict[str, Any] = {
            name: date.fromisoformat(value) if name in _DATES else value
            for name, value in continued.filters.items()
            if name in (*_FILTERS, "as_of")
        }
    except (KeyError, TypeError, ValueError):
        raise cursors.unknown() from None
    carried["open_flags"] = frozenset(carried.get("open_flags", ()))
    return replace(where, **carried), after


def _place(field: str, value: str | None) -> str | None:
    """A place filter normalised as the events that name places are (blank: no filter)."""
    if value is None or not value.strip():
        return None
    try:
        return identifiers.PLACES[field](value)
    except identifiers.InvalidIdentifier as exc:
        raise Invalid(f"{field}: {exc}", errors=[ErrorItem(["query", field], str(exc))]) from None


def query(
    as_of: date | None,
    cursor: str | None,
    scope: Scope | None,
    *,
    stage: str | None = None,
    flags: Iterable[str] = (),
    prison: str | None = None,
    probation_region: str | None = None,
    local_authority: str | None = None,
    community_provider: str | None = None,
    released_from: date | None = None,
    released_to: date | None = None,
) -> tuple[ReleaseFilter, PageKey | None]:
    """A gap list's filter, as the API and the pages take it, and where its page starts: a
    cursor carries the as-of date (today's when none was given) and filters of the list's
    first page."""
    where = ReleaseFilter(
        as_of=as_of if as_of is not None else clock.today(),
        stage=stage,
        open_flags=frozenset(flags),
        prison=_place("prison", prison),
        probation_region=_place("probation_region", probation_region),
        local_authority=_place("local_authority", local_authority),
        community_provider=community_provider or None,
        released_from=released_from,
        released_to=released_to,
        scope=scope,
    )
    if cursor is None:
        return where, None
    return _continued(where, as_of, cursor)


async def _records(
    conn: Connection, page: release_store.Shown, as_of: date, rules: Rules, view: StoredView[V]
) -> list[tuple[ShownRow, V | dict[str, Any]]]:
    """The full records of these stored versions, in their order, each with its version (see
    `people.shown` for `view`)."""
    views = await shown(conn, page.rows, as_of, rules, page.identifiers, view)
    return [(row, views[row.release_id]) for row in page.rows if row.release_id in views]


def described(where: ReleaseFilter) -> dict[str, Any]:
    """A list read's query, for its audit row: the filters given, as_of, the key's scope."""
    named = {f.name: getattr(where, f.name) for f in fields(where)}
    named["scope"] = stored(where.scope)
    return {name: value for name, value in named.items() if value not in (None, frozenset())}


async def page(
    conn: Connection,
    who: Principal,
    where: ReleaseFilter,
    after: PageKey | None,
    limit: int,
    rules: Rules,
) -> tuple[list[orjson.Fragment | dict[str, Any]], str | None]:
    found = await release_store.page(conn, where, after, limit + 1)
    rows = found.rows[:limit]
    next_cursor = None
    if len(found.rows) > limit:
        next_cursor = encode_cursor(PageKey(rows[-1].released_on, rows[-1].release_id), where)
    records = await _records(conn, replace(found, rows=rows), where.as_of, rules, encoded_view)
    details = {
        "filters": described(where),
        "continued": after is not None,
        "rows": len(records),
        # The people shown (not the releases): what a person's audit trail is searched by.
        "person_ids": list({row.person_id: 0 for row, _ in records}),
    }
    await audit.record(conn, who, audit.READ_RELEASES, subject_type=audit.QUERY, details=details)
    return [view for _, view in records], next_cursor


@dataclass
class Sent:
    """How much of a CSV stream went out: the rows of the chunks the server took, and whether
    the stream ran to its end."""

    rows: int = 0
    completed: bool = False


async def stream_csv(
    conn: Connection, where: ReleaseFilter, rules: Rules, sent: Sent
) -> AsyncGenerator[str, None]:
    """The whole filtered list as CSV, a chunk of releases at a time, counted into `sent`."""
    yield spreadsheet.line(spreadsheet.RELEASE_COLUMNS)
    async for chunk in release_store.walk(conn, where, CSV_CHUNK):
        records = await _records(conn, chunk, where.as_of, rules, stored_view)
        yield "".join(spreadsheet.line(spreadsheet.release_row(record)) for _, record in records)
        # Resumed only when the server asks for more: the chunk has gone out.
        sent.rows += len(records)
    sent.completed = True


async def record_csv(conn: Connection, who: Principal, where: ReleaseFilter, sent: Sent) -> None:
    """The audit row of a CSV export, once its stream has ended (or was cut short).

    Written at the end, not the start, so that it says how many rows actually went out: a
    client that goes away after the first chunk has not been sent the whole list.
    """
    await audit.record(
        conn,
        who,
        audit.EXPORT_RELEASES_CSV,
        subject_type=audit.QUERY,
        outcome=audit.OK if sent.completed else audit.INTERRUPTED,
        details={"filters": described(where), "rows": sent.rows},
    )


async def export_csv(
    db: Database, who: Principal, where: ReleaseFilter, rules: Rules
) -> AsyncGenerator[str, None]:
    """The CSV stream, then its audit row, however the stream ended.

    The stream outlives the request's transaction, so it reads in one of its own, and its audit
    row is written in a short write transaction of its own once it ends: holding the write lock
    (on SQLite) for as long as a client takes to read the list would stop every writer.
    """
    sent = Sent()
    try:
        async with db.read() as conn, aclosing(stream_csv(conn, where, rules, sent)) as chunks:
            async for chunk in chunks:
                yield chunk
    finally:
        # Shielded: a client that goes away cancels the stream, not the record of what it got.
        with anyio.CancelScope(shield=True):
            async with db.write() as conn:
                await record_csv(conn, who, where, sent)
