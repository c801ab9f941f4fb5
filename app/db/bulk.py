"""Many rows into one table in one statement.

On PostgreSQL the rows go as one array per column, `INSERT ... SELECT FROM unnest(...)`: one
statement, one round trip, and the arrays are encoded by psycopg's C code. Sent as an
executemany (one pipelined single-row INSERT per row) they cost about twice the server's time
and far more of the client's, whose Python processed every parameter of every row. SQLite's
executemany is already a loop in C, so there the rows go as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import JSON, Date, DateTime, Integer, Table, insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _array_type(table: Table, column: str) -> tuple[str, str]:
    """The array type a column's values travel in, and the cast back to the column's type."""
    kind = table.c[column].type
    if isinstance(kind, JSON):
        return "text[]", "::json"
    if isinstance(kind, Date):
        return "date[]", ""
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        return "timestamptz[]", ""
    if isinstance(kind, Integer):
        return "bigint[]", ""
    return "text[]", ""


@cache
def _unnest_insert(table: Table, columns: tuple[str, ...], skip_conflicts: bool) -> str:
    types = [_array_type(table, column) for column in columns]
    names = ", ".join(columns)
    arrays = ", ".join(f"CAST(%s AS {array})" for array, _ in types)
    selected = ", ".join(
        f"{column}{cast}" for column, (_, cast) in zip(columns, types, strict=True)
    )
    conflicts = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {selected}"
        f" FROM unnest({arrays}) AS given({names}){conflicts}"
    )


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts: bool = False,
) -> None:
    """Insert `rows` (each with the same columns) in their order; with `skip_conflicts`, a row
    that would break a unique constraint is left out instead."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        statement = (
            sqlite.insert(table).on_conflict_do_nothing() if skip_conflicts else insert(table)
        )
        await conn.execute(statement, list(rows))
        return
    columns = tuple(rows[0])
    arrays = []
    for column in columns:
        values = [row[column] for row in rows]
        if isinstance(table.c[column].type, JSON):
            values = [_json_text(value) for value in values]
        arrays.append(values)
    await conn.exec_driver_sql(_unnest_insert(table, columns, skip_conflicts), tuple(arrays))
