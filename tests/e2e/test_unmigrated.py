"""A server started on a database that is not at this code's schema stops at once, with one line
that says to run `joinup migrate`, and no traceback (uvicorn started directly, as an operator
who skips `scripts/serve` does)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from app.cli import alembic_config
from tests.support.server import ROOT, free_port


def _start(database_url: str) -> tuple[int, str]:
    """Start uvicorn on `database_url`; its exit code and everything it printed."""
    env = {**os.environ, "JOINUP_DATABASE_URL": database_url}
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            "app.main:create_app",
            "--factory",
            "--port",
            str(free_port()),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def downgradable(database_url: str) -> Iterator[str]:
    """The test database, to be taken down; brought back to the head afterwards."""
    yield database_url
    command.upgrade(alembic_config(database_url), "head")


def test_a_database_never_migrated_stops_the_server_with_one_line(downgradable: str) -> None:
    command.downgrade(alembic_config(downgradable), "base")
    code, output = _start(downgradable)
    assert code != 0
    assert "joinup: the database has never been migrated: run joinup migrate" in output
    assert "Traceback" not in output


def test_an_older_schema_stops_the_server_naming_both_revisions(downgradable: str) -> None:
    command.downgrade(alembic_config(downgradable), "0080")
    code, output = _start(downgradable)
    assert code != 0
    assert "joinup: the database is at schema revision 0080, this joinup needs" in output
    assert "run joinup migrate" in output
    assert "Traceback" not in output


def test_a_missing_sqlite_file_is_a_database_never_migrated(tmp_path: Path) -> None:
    code, output = _start(f"sqlite:///{tmp_path / 'nothing-here.db'}")
    assert code != 0
    assert "run joinup migrate" in output and "Traceback" not in output
    assert not (tmp_path / "nothing-here.db").exists()
