"""The change feed (`GET /v1/changes`): the outbox, oldest first, for systems that poll."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from app.db import Connection
from app.db import changes as change_store
from app.services import audit
from app.services.principal import Principal


async def page(
    conn: Connection, who: Principal, after: int, limit: int, types: Collection[str] | None
) -> dict[str, Any]:
    """The changes after `after` the caller may see; `next_after` continues from the last."""
    rows = await change_store.page(conn, after, limit, types, who.scope)
    people = sorted({row.person_id for row in rows})
    details = {"after": str(after), "rows": len(rows), "person_ids": people}
    await audit.record(conn, who, audit.READ_CHANGES, subject_type=audit.QUERY, details=details)
    next_after = str(rows[-1].change_id) if rows else str(after)
    return {"items": [change_store.shown(row) for row in rows], "next_after": next_after}
