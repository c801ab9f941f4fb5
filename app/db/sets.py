"""`column IN (a set of values)` as one bound parameter, whatever the set's size.

SQLAlchemy's `in_()` renders one placeholder per value, so every batch size is a new statement:
compiled again, parsed again by the driver, planned again by the database, and never
prepared. Here the whole set is one parameter: a text array on PostgreSQL (`= ANY(...)`), a
JSON array on SQLite (`IN (SELECT value FROM json_each(...))`), and the statement text stays
the same from one call to the next. The array is bound as its text (`array_text`), which
PostgreSQL parses itself: psycopg builds an array from a Python list element by element, far
slower than joining the ids into that text (docs/performance.md).

Since the set is a parameter, a statement that uses one can be built once per dialect and
kept (`per_dialect`): building a statement costs about as much as running a small one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg import postgres
from psycopg.adapt import Dumper
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    TypeDecorator,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect

Built = TypeVar("Built")


class _JsonArray(TypeDecorator[list[str]]):
    """A list of strings bound as JSON text, for SQLite's json_each."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> str | None:
        return None if value is None else orjson.dumps(list(value)).decode()


class ArrayText(str):
    """The text of a PostgreSQL `varchar[]`: psycopg sends it as such an array, which the
    server parses (see `array_text`)."""


class _ArrayTextDumper(Dumper):
    # Typed as the array, not as text to be cast: the planner sees the array's values, and
    # estimates `= ANY(...)` by them as it does a list bound element by element.
    oid = postgres.types["varchar"].array_oid

    def dump(self, obj: Any) -> bytes:
        return str(obj).encode()


# For every psycopg connection of the process: no other code binds an ArrayText.
psycopg.adapters.register_dumper(ArrayText, _ArrayTextDumper)


def array_text(values: Iterable[str]) -> ArrayText:
    """PostgreSQL's text form of an array of strings, `{"a","b"}`, bound as a `varchar[]`."""
    listed = list(values)
    if not listed:
        return ArrayText("{}")
    joined = '","'.join(listed)
    if '"' in joined or "\\" in joined:
        # Inside an element's double quotes only these two are special.
        joined = '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in listed)
    return ArrayText('{"' + joined + '"}')


class _TextArray(TypeDecorator[list[str]]):
    """A list of strings bound as the text of a PostgreSQL `varchar[]` (`array_text`).

    A decorator, not a subclass of ARRAY: the psycopg dialect swaps an ARRAY subclass for its
    own array type, whose processor hands psycopg the list to dump element by element.
    """

    impl = ARRAY(String)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        return lambda value: None if value is None else array_text(value)


def one_of(dialect: str, column: ColumnElement[Any], name: str) -> Any:
    """`column` is one of the strings in the list bound to the parameter `name`."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=_TextArray()))
    members: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(name, type_=_JsonArray()))
    )
    return column.in_(members.scalar_subquery())


def among(dialect: str, column: ColumnElement[Any], chosen: Select[Any]) -> Any:
    """`column` is one of the values `chosen` selects (one column).

    On PostgreSQL the subquery runs first and its values become an array, so the planner takes
    the index on `column` for a handful of values whatever its statistics say; left to
    estimate `IN (subquery)` on tables never analysed, it scanned them whole.
    """
    if dialect == "postgresql":
        return column == any_(func.array(chosen.scalar_subquery(), type_=ARRAY(String)))
    return column.in_(chosen)


def per_dialect(build: Callable[[str], Built]) -> Callable[[str], Built]:
    """`build(dialect_name)`, built once per dialect and kept."""
    return cache(build)
