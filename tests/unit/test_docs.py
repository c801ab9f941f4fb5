"""The README and docs/ stay true to the code: every setting documented, every link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
# Environment variables named in the code (settings are read by name, as JOINUP_<FIELD>).
NAMED = re.compile(r"""["'](JOINUP_[A-Z0-9_]+|PROMETHEUS_MULTIPROC_DIR)["']""")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_setting_is_in_the_configuration_document() -> None:
    missing = [
        f"JOINUP_{name.upper()}"
        for name in Settings.model_fields
        if f"`JOINUP_{name.upper()}`" not in CONFIGURATION
    ]
    assert missing == []


def test_every_variable_the_code_reads_is_in_the_configuration_document() -> None:
    sources = [*ROOT.glob("app/**/*.py"), *ROOT.glob("bench/**/*.py"), *ROOT.glob("scripts/*")]
    sources += [ROOT / "tests" / "conftest.py"]
    named = {name for path in sources if path.is_file() for name in NAMED.findall(path.read_text())}
    assert {"JOINUP_TEST_POSTGRES_URL", "PROMETHEUS_MULTIPROC_DIR"} <= named
    assert sorted(name for name in named if f"`{name}`" not in CONFIGURATION) == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    lines = path.read_text().splitlines()
    return {_slug(line.lstrip("#")) for line in lines if re.match(r"#{1,6} ", line)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_resolves(document: Path) -> None:
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # another site's address
        name, _, anchor = target.partition("#")
        path = (document.parent / name).resolve() if name else document
        if not path.exists() or (anchor and anchor not in _anchors(path)):
            broken.append(target)
    assert broken == []


# A file of the repository named in code style: `app/db/audit.py`, or `app/db/audit.Trail`.
CODE_PATH = re.compile(r"`((?:app|bench|docs|migrations|openapi|scripts|tests)/[^`\s]*)`")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_file_named_exists(document: Path) -> None:
    missing = []
    for named in CODE_PATH.findall(document.read_text()):
        module = named.rsplit(".", 1)[0] + ".py"  # a module's attribute: the module
        if not (ROOT / named.rstrip("/")).exists() and not (ROOT / module).exists():
            missing.append(named)
    assert missing == []
