"""The audit trail. Rows are only ever inserted: there is no update or delete here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import AuditRow, table

audit = table(AuditRow)


async def record(
    conn: AsyncConnection,
    *,
    at: datetime,
    key_id: str | None,
    org: str | None,
    action: str,
    outcome: str,
    subject: str | None,
    detail: Mapping[str, Any],
) -> None:
    await conn.execute(
        insert(audit).values(
            at=at,
            key_id=key_id,
            org=org,
            action=action,
            outcome=outcome,
            subject=subject,
            detail=dict(detail),
        )
    )
