"""Alembic environment: runs the static revisions synchronously against JOINUP_DATABASE_URL.

The revisions never import the application's tables; `target_metadata` is given only so that
`alembic check` and the drift test can compare the migrated schema with the
tables of `app.db.tables` and `app.db.notification_tables`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.db import notification_tables  # noqa: F401 (its tables join Base.metadata)
from app.db.engine import ensure_sqlite_directory, sync_url
from app.db.tables import Base
from app.settings import Settings

config = context.config
url = config.attributes.get("database_url") or Settings().database_url
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=sync_url(url), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine_url = sync_url(url)
    ensure_sqlite_directory(engine_url)
    engine = create_engine(engine_url)
    if engine.dialect.name == "sqlite":
        # WAL is a property of the database file: set it once here, before the server's
        # processes start, rather than by several of them at once (which SQLite refuses).
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            connection.commit()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
