"""Many rows into one table in one statement.

On PostgreSQL the rows go as one JSON document, `INSERT ... SELECT FROM json_to_recordset(...)`:
one statement, one parameter, encoded by orjson and decoded by the server, both in C. Sent as an
executemany (one pipelined single-row INSERT per row) they cost the client's Python far more,
which processed every parameter of every row; as one array per column, psycopg's array dumper
escaped every string in Python and was a quarter of a batch's time. SQLite's executemany is
already a loop in C, so there the rows go as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, Date, DateTime, Integer, Table, insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.tuning import ROWS_PER_TURN

Item = TypeVar("Item")


async def handing_back(rows: Sequence[Item], every: int = ROWS_PER_TURN) -> AsyncIterator[Item]:
    """`rows` one by one, letting other tasks run after every `every` of them."""
    for index, row in enumerate(rows):
        if index and not index % every:
            await asyncio.sleep(0)
        yield row


def _sql_type(table: Table, column: str) -> str:
    """The type a column's values are read from the JSON document as."""
    kind = table.c[column].type
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        return "timestamptz"
    if isinstance(kind, Integer):
        return "bigint"
    return "text"


def recordset(table: Table, columns: Sequence[str], param: str = "%s") -> str:
    """PostgreSQL: the rows of the JSON document bound to `param` (`rows_json`) as a table
    named `given`, with `table`'s types for `columns`."""
    typed = ", ".join(f"{column} {_sql_type(table, column)}" for column in columns)
    return f"json_to_recordset(CAST({param} AS json)) AS given({typed})"


def rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """The JSON document of `rows` that `recordset` reads."""
    return orjson.dumps(list(rows)).decode()


@cache
def _recordset_insert(table: Table, columns: tuple[str, ...], skip_conflicts: bool) -> str:
    names = ", ".join(columns)
    conflicts = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {names}"
        f" FROM {recordset(table, columns)}{conflicts}"
    )


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
        # SQLAlchemy turns every row's values into the driver's on the event loop: thousands
        # of rows at once held it for tens of milliseconds.
        for start in range(0, len(rows), ROWS_PER_TURN):
            if start:
                await asyncio.sleep(0)
            await conn.execute(statement, list(rows[start : start + ROWS_PER_TURN]))
        return
    sql = _recordset_insert(table, tuple(rows[0]), skip_conflicts)
    await conn.exec_driver_sql(sql, (rows_json(rows),))
