"""Continuity metrics over a release-date range, as of a date, optionally grouped."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.db import Connection
from app.db import releases as release_store
from app.db.releases import ReleaseFilter
from app.domain.metrics import COUNT_NAMES, with_rates
from app.services import audit
from app.services.principal import Principal
from app.services.scope import Scope, stored


async def continuity(
    conn: Connection,
    as_of: date,
    released_from: date | None,
    released_to: date | None,
    group_by: str | None,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """The counts over the releases `scope` admits (all of them when None)."""
    where = ReleaseFilter(
        as_of=as_of, released_from=released_from, released_to=released_to, scope=scope
    )
    groups = await release_store.sums(conn, where, group_by)
    groups.sort(key=lambda item: (item[0] is None, str(item[0])))
    # The total is the groups added up: one pass over the releases serves both.
    total = {name: sum(counts[name] for _, counts in groups) for name in COUNT_NAMES}
    rows = [{"group": group, **with_rates(counts)} for group, counts in groups]
    return {
        "as_of": as_of,
        "released_from": released_from,
        "released_to": released_to,
        "group_by": group_by,
        "rows": rows if group_by is not None else [],
        "total": with_rates(total),
    }


async def read(
    conn: Connection,
    who: Principal,
    as_of: date,
    released_from: date | None,
    released_to: date | None,
    group_by: str | None,
) -> dict[str, Any]:
    """`continuity` over what `who`'s scope admits, recorded in the audit trail (no person is
    named: the row holds the query)."""
    answer = await continuity(conn, as_of, released_from, released_to, group_by, who.scope)
    query = {
        "as_of": as_of,
        "released_from": released_from,
        "released_to": released_to,
        "group_by": group_by,
        "scope": stored(who.scope),
    }
    details = {"filters": {name: value for name, value in query.items() if value is not None}}
    await audit.record(conn, who, audit.READ_METRICS, subject_type=audit.QUERY, details=details)
    return answer
