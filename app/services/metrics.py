"""Continuity metrics over a release-date range, as of a date, optionally grouped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from app.db import Connection, release_metrics
from app.domain.filters import ReleaseFilter, Scope, stored
from app.domain.metrics import COUNT_NAMES, with_rates
from app.services import audit
from app.services.principal import Principal

Sums = list[tuple[tuple[Any, ...], dict[str, int]]]


def _added_up(sums: Sums, position: int) -> list[dict[str, Any]]:
    """The rows of `sums` added up by the group at `position` of their combinations, with their
    rates, groups in order and the unknown one last."""
    by_group: dict[Any, dict[str, int]] = {}
    for grouped, counts in sums:
        into = by_group.setdefault(grouped[position], dict.fromkeys(COUNT_NAMES, 0))
        for name in COUNT_NAMES:
            into[name] += counts[name]
    ordered = sorted(by_group.items(), key=lambda item: (item[0] is None, str(item[0])))
    return [{"group": group, **with_rates(counts)} for group, counts in ordered]


def _total(sums: Sums) -> dict[str, Any]:
    """Every combination of `sums` added up: one pass over the releases serves groups and total."""
    return with_rates({name: sum(counts[name] for _, counts in sums) for name in COUNT_NAMES})


async def _sums(
    conn: Connection,
    as_of: date,
    released_from: date | None,
    released_to: date | None,
    group_by: Sequence[str],
    scope: Scope | None,
) -> Sums:
    where = ReleaseFilter(
        as_of=as_of, released_from=released_from, released_to=released_to, scope=scope
    )
    return await release_metrics.sums(conn, where, group_by)


async def continuity(
    conn: Connection,
    as_of: date,
    released_from: date | None,
    released_to: date | None,
    group_by: str | None,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """The counts over the releases `scope` admits (all of them when None)."""
    grouping = (group_by,) if group_by is not None else ()
    sums = await _sums(conn, as_of, released_from, released_to, grouping, scope)
    return {
        "as_of": as_of,
        "released_from": released_from,
        "released_to": released_to,
        "group_by": group_by,
        "rows": _added_up(sums, 0) if group_by is not None else [],
        "total": _total(sums),
    }


async def overview(
    conn: Connection,
    as_of: date,
    released_from: date | None,
    released_to: date | None,
    group_by: str,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """`continuity` by `group_by`, with `months` besides (its rows by month of release): the
    coordinators' overview, from one pass over the releases."""
    grouping = (group_by, "month") if group_by != "month" else ("month",)
    sums = await _sums(conn, as_of, released_from, released_to, grouping, scope)
    return {
        "as_of": as_of,
        "released_from": released_from,
        "released_to": released_to,
        "group_by": group_by,
        "rows": _added_up(sums, 0),
        "months": _added_up(sums, len(grouping) - 1),
        "total": _total(sums),
    }


async def _audited(
    conn: Connection, who: Principal, query: dict[str, Any], answer: dict[str, Any]
) -> dict[str, Any]:
    """`answer`, once the read of `query` by `who` is in the audit trail (no person is named:
    the row holds the query)."""
    query = {**query, "scope": stored(who.scope)}
    details = {"filters": {name: value for name, value in query.items() if value is not None}}
    await audit.record(conn, who, audit.READ_METRICS, subject_type=audit.QUERY, details=details)
    return answer


async def read(
    conn: Connection,
    who: Principal,
    as_of: date,
    released_from: date | None,
    released_to: date | None,
    group_by: str | None,
) -> dict[str, Any]:
    """`continuity` over what `who`'s scope admits, recorded in the audit trail."""
    answer = await continuity(conn, as_of, released_from, released_to, group_by, who.scope)
    query = {"as_of": as_of, "released_from": released_from, "released_to": released_to}
    return await _audited(conn, who, {**query, "group_by": group_by}, answer)


async def read_overview(
    conn: Connection,
    who: Principal,
    as_of: date,
    released_from: date | None,
    released_to: date | None,
    group_by: str,
) -> dict[str, Any]:
    """`overview` over what `who`'s scope admits, recorded in the audit trail as one read of the
    metrics by `group_by`."""
    answer = await overview(conn, as_of, released_from, released_to, group_by, who.scope)
    query = {"as_of": as_of, "released_from": released_from, "released_to": released_to}
    return await _audited(conn, who, {**query, "group_by": group_by}, answer)
