"""The dependency rules of STYLE.md, read from the imports of every module under app/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((APP / package).rglob("*.py"))


def _uses(path: Path, prefix: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for name in _imports(path))


@pytest.mark.parametrize("path", _modules("domain"), ids=str)
def test_the_domain_imports_only_the_standard_library_and_itself(path: Path) -> None:
    outside = {name for name in _imports(path) if name.split(".")[0] not in _STDLIB_OK}
    assert {n for n in outside if not n.startswith("app.domain")} == set()


@pytest.mark.parametrize("path", sorted(APP.rglob("*.py")), ids=str)
def test_only_app_db_imports_sqlalchemy_and_only_the_web_edges_import_fastapi(path: Path) -> None:
    relative = path.relative_to(APP).parts
    if relative[0] != "db":
        assert not _uses(path, "sqlalchemy"), "SQLAlchemy belongs in app/db"
    if relative[0] not in ("api", "web", "main.py"):
        assert not (_uses(path, "fastapi") or _uses(path, "starlette")), "FastAPI is app/api's"


# What the pages share with the API: the request's unit of work, the runtime, the request id.
_API_PLUMBING = ("app.api.deps", "app.api.observability")


@pytest.mark.parametrize("path", sorted(APP.rglob("*.py")), ids=str)
def test_nothing_imports_the_api_but_the_app_factory(path: Path) -> None:
    relative = path.relative_to(APP).parts
    if relative[0] == "web":
        used = {name for name in _imports(path) if name.startswith("app.api")}
        assert used <= set(_API_PLUMBING), "the pages use the API's request plumbing alone"
    elif relative[0] not in ("api", "main.py", "cli.py"):
        assert not _uses(path, "app.api"), "nothing may depend on app/api"


@pytest.mark.parametrize("path", _modules("web"), ids=str)
def test_the_pages_reach_storage_only_through_the_services(path: Path) -> None:
    assert not _uses(path, "app.db"), "a page reads through app/services, as the API does"


@pytest.mark.parametrize("path", _modules("tuning"), ids=str)
def test_the_tuning_is_standard_library_alone(path: Path) -> None:
    # Below app/db and app/services alike, which both read their knobs from it.
    used = {name for name in _imports(path) if name.startswith("app")}
    assert {n for n in used if not n.startswith("app.tuning")} == set()


@pytest.mark.parametrize("path", _modules("schemas"), ids=str)
def test_the_wire_schemas_build_on_the_domain_alone(path: Path) -> None:
    used = {name for name in _imports(path) if name.startswith("app.")}
    assert {n for n in used if not n.startswith(("app.domain", "app.schemas"))} == set()


@pytest.mark.parametrize("path", _modules("api"), ids=str)
def test_the_api_reaches_storage_only_through_the_services(path: Path) -> None:
    assert not _uses(path, "app.db"), "a route reaches storage through app/services"


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Each module of app/ and the modules of app/ it imports (a package's own names count as
    its __init__); imports inside functions count too, as they close a circle all the same."""
    paths = {_module_name(path): path for path in APP.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        used: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                used.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named = {f"{node.module}.{alias.name}" for alias in node.names}
                # `from package import module` runs the module; names of the package's own
                # make the edge to the package.
                used.update(named & paths.keys() or {node.module})
        graph[name] = {other for other in used if other in paths and other != name}
    return graph


def _a_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of `graph`, as the modules along it, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                return [*path[path.index(other) :], other]
            if other not in state and (found := visit(other)):
                return found
        state[name] = 2
        path.pop()
        return None

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return None


def test_no_module_of_the_app_imports_itself_round_a_circle() -> None:
    assert _a_circle(_graph()) is None


_STDLIB_OK = {  # what the pure rules may use
    "__future__",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "hashlib",  # deterministic ids of HMPPS domain events (app/domain/hmpps.py)
    "itertools",
    "json",
    "operator",
    "re",
    "typing",
    "zoneinfo",  # the Europe/London date of an HMPPS domain event's timestamp
}


@pytest.mark.parametrize("path", _modules("db"), ids=str)
def test_storage_depends_on_nothing_above_it(path: Path) -> None:
    assert not (_uses(path, "app.services") or _uses(path, "app.api"))


MAX_LINES = 300  # STYLE.md: "Modules: aim under 300 lines."


def test_no_module_of_the_app_is_over_300_lines() -> None:
    long = {
        str(p.relative_to(APP)): n
        for p in _modules(".")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these into modules of one concept each: {long}"
