"""Every row of every table, as the database holds it, to show that a request changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, create_engine, text

from app.db.engine import sync_url

Dump = dict[str, list[tuple[Any, ...]]]


def dump(database_url: str) -> Dump:
    """Each table's rows ordered by primary key: on PostgreSQL each row as PostgreSQL's own text
    rendering of it, on SQLite the stored values (which SQLite keeps as text, numbers or bytes),
    so that the comparison is of what is stored, not of what a driver makes of it."""
    engine = create_engine(sync_url(database_url))
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        postgres = engine.dialect.name == "postgresql"
        rows: Dump = {}
        with engine.connect() as conn:
            for name, table in sorted(metadata.tables.items()):
                if name == "alembic_version":
                    continue
                order = ", ".join(c.name for c in table.primary_key.columns) or "1"
                columns = f"CAST({name} AS text)" if postgres else "*"
                query = text(f"SELECT {columns} FROM {name} ORDER BY {order}")
                rows[name] = [tuple(row) for row in conn.execute(query)]
        return rows
    finally:
        engine.dispose()


def assert_unchanged(before: Dump, after: Dump) -> None:
    """Nothing changed, but for audit lines added after the ones there were."""
    assert set(before) == set(after)
    for name in before:
        if name == "audit":
            assert after[name][: len(before[name])] == before[name]
        else:
            assert after[name] == before[name], name
