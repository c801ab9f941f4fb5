"""Whether a database's schema is the one this code was written for (Alembic's head).

A server started on a database that was never migrated, or migrated by an older release, would
fail on its first query with a traceback that never says what to do: it stops at start-up
instead, with one line that does.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, exc, inspect, text

from app.db.engine import sync_url

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def revision_of(database_url: str) -> str | None:
    """The revision the database was migrated to; None when it never was."""
    url = sync_url(database_url)
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_disk and not Path(str(url.database)).exists():
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def unready(database_url: str) -> str | None:
    """What stops this code serving the database, in one line; None when nothing does (or the
    database cannot be reached just now: the server says so itself, and retries)."""
    try:
        found = revision_of(database_url)
    except exc.OperationalError:
        return None
    head = head_revision()
    if found == head:
        return None
    if found is None:
        return "the database has never been migrated: run joinup migrate (scripts/serve does)"
    if not _known(found):
        return f"the database is at schema revision {found}, made by a newer joinup than this one"
    return (
        f"the database is at schema revision {found}, this joinup needs {head}: "
        "run joinup migrate (scripts/serve does)"
    )
