"""`column IN (a set of values)` as one bound parameter, whatever the set's size.

SQLAlchemy's `in_()` renders one placeholder per value, so every batch size is a new statement:
compiled again, parsed again by the driver, planned again by the database, and never
prepared. Here the whole set is one parameter: a text array on PostgreSQL (`= ANY(...)`), a
JSON array on SQLite (`IN (SELECT value FROM json_each(...))`), and the statement text stays
the same from one call to the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection


def one_of(conn: AsyncConnection, column: ColumnElement[Any], values: Iterable[str]) -> Any:
    """`column` is one of the text `values`."""
    given = list(values)
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, given, type_=ARRAY(String)))
    members: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, orjson.dumps(given).decode(), type_=String))
    )
    return column.in_(members.scalar_subquery())
