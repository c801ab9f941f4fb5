"""The README's curl tour, run as written against a real server on a fresh database."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.server import ROOT, serve
from tests.support.tour import Step, shows, steps

pytestmark = pytest.mark.e2e

# Each step's output ends with this line, so that one run of bash can be cut back into steps.
MARK = "\x1fstep done\x1f"
# Every command's failure ends the run: curl's too (an HTTP error is a failure, not a page).
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body --show-error "$@"; }
"""


def _script(tour: list[Step], port: int) -> str:
    parts = [PRELUDE]
    for step in tour:
        parts.append(step.commands.replace("localhost:8000", f"127.0.0.1:{port}"))
        parts.append(f"printf '\\n{MARK}\\n'")
    return "\n".join(parts) + "\n"


def test_the_readme_tour_answers_what_it_shows(tmp_path: Path) -> None:
    tour = steps((ROOT / "README.md").read_text())
    shown = [step for step in tour if step.answer is not None]
    assert len(shown) >= 7, "the README's tour shows fewer answers than it did"
    database_url = f"sqlite:///{tmp_path / 'tour.db'}"
    with serve(database_url, tmp_path / "server.log") as server:
        port = int(server.url.rsplit(":", 1)[1])
        ran = subprocess.run(
            ["bash", "-c", _script(tour, port)],
            cwd=ROOT,
            env={**os.environ, "JOINUP_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    outputs = ran.stdout.split(f"\n{MARK}\n")
    done = len(outputs) - 1
    assert ran.returncode == 0, (
        f"the tour stopped in step {done + 1}:\n{tour[done].commands}\n"
        f"output: {outputs[-1]}\nstderr: {ran.stderr}"
    )
    for step, output in zip(tour, outputs, strict=False):
        if step.answer is not None:
            message = f"{step.commands}\nshows: {step.answer}\ngot: {output}"
            assert shows(step.answer, output), message
