"""`joinup import FILE`: NDJSON and CSV files posted the loaders' way, on both databases."""

from __future__ import annotations

import asyncio
import csv
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.cli import main
from app.cli_import import import_events
from app.db.engine import Database, sync_url
from app.demo import year as demo_data
from app.services import clock, importing, metrics
from app.settings import Settings
from tests.support.envelopes import event, nomis

ORG = "HMP-MDI-HC"


def stored(database_url: str) -> list[tuple[str, str]]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT org, event_id FROM event ORDER BY org, event_id"))
        answer = [(row.org, row.event_id) for row in rows]
    engine.dispose()
    return answer


def scalar(database_url: str, query: str) -> Any:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(query)).scalar_one()
    finally:
        engine.dispose()


def count(database_url: str, table: str) -> int:
    return int(scalar(database_url, f"SELECT count(*) FROM {table}"))


def run(database_url: str, path: Path, org: str | None = None) -> importing.Report:
    return asyncio.run(import_events(Settings(database_url=database_url), path, org))


def released(n: int, **fields: Any) -> dict[str, Any]:
    return {**event(event_id=f"ev-{n}", person={"nomis": nomis(n)}), **fields}


def write_ndjson(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join(f"{line}\n" if isinstance(line, str) else f"{json.dumps(line)}\n" for line in lines)
    )
    return path


def test_ndjson_imports_and_a_second_run_finds_every_event_duplicate(
    database_url: str, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "events.ndjson",
        [
            released(1, org=ORG),
            released(2, org=ORG),
            '{"event_id": "ev-3", "type": ',  # line 3: cut off
            "",
            released(4, org="PROVIDER-WIGAN"),
            released(5, org=ORG, person={"nomis": "not-a-nomis"}),
        ],
    )
    first = run(database_url, path)
    assert (first.accepted, first.duplicates, first.rejected) == (3, 0, 2)
    assert [number for number, _ in first.reasons] == [3, 6]
    assert first.reasons[0][1].startswith("not valid JSON")
    assert first.reasons[1][1].startswith("validation-error") and "nomis" in first.reasons[1][1]
    expected = [(ORG, "ev-1"), (ORG, "ev-2"), ("PROVIDER-WIGAN", "ev-4")]
    assert stored(database_url) == expected
    second = run(database_url, path)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 3, 2)
    assert stored(database_url) == expected


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = [*importing.CSV_COLUMNS, "corrects"]
    with path.open("w", newline="") as sink:
        writer = csv.DictWriter(sink, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(n: int, **cells: str) -> dict[str, str]:
    envelope = released(n)
    row = {
        "org": "",
        "event_id": envelope["event_id"],
        "type": envelope["type"],
        "occurred_on": envelope["occurred_on"],
        "nomis": nomis(n),
        "data": json.dumps(envelope["data"]),
    }
    return {**row, **cells}


def test_csv_imports_with_org_given_and_a_correction(database_url: str, tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "events.csv",
        [
            _row(1),
            _row(2, data='{"prison": "MDI", '),  # line 3: data is not JSON
            _row(3, event_id="ev-1b", nomis=nomis(1), corrects="ev-1"),
            _row(4, crn="X000004", nomis=""),
        ],
    )
    first = run(database_url, path, org=ORG)
    assert (first.accepted, first.duplicates, first.rejected) == (3, 0, 1)
    assert first.reasons == [(3, first.reasons[0][1])]
    assert first.reasons[0][1].startswith("data is not valid JSON")
    assert stored(database_url) == [(ORG, "ev-1"), (ORG, "ev-1b"), (ORG, "ev-4")]
    second = run(database_url, path, org=ORG)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 3, 1)


def test_an_interrupted_import_run_again_posts_only_the_rest(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows of two lines: the first, cut-short file commits in two transactions.
    monkeypatch.setattr(importing, "WINDOW", 2)
    lines = [released(n) for n in range(1, 8)]
    partial = run(database_url, write_ndjson(tmp_path / "part.ndjson", lines[:3]), ORG)
    whole = run(database_url, write_ndjson(tmp_path / "all.ndjson", lines), ORG)
    assert (partial.accepted, whole.accepted, whole.duplicates) == (3, 4, 3)
    assert len(stored(database_url)) == 7


@pytest.fixture
def ctrl_c_interrupts() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, as at a terminal. Python leaves SIGINT ignored when it
    starts with it ignored, as a script's background job does: run so, the interrupted import
    below ran to its end."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_interrupts")
def test_an_import_stopped_by_ctrl_c_keeps_what_it_counted_and_a_rerun_posts_the_rest(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Windows of four lines, batches of two: each window posts one batch per organisation.
    monkeypatch.setenv("JOINUP_DATABASE_URL", database_url)
    monkeypatch.setenv("JOINUP_MAX_BATCH", "2")
    monkeypatch.setattr(importing, "WINDOW", 4)
    lines = [released(n, org=ORG if n % 2 else "PROVIDER-WIGAN") for n in range(1, 11)]
    path = write_ndjson(tmp_path / "events.ndjson", lines)
    real_post, posts = importing.post, 0

    async def interrupted_in_the_third_batch(*args: Any) -> importing.Report:
        nonlocal posts
        posts += 1
        if posts == 3:
            signal.raise_signal(signal.SIGINT)
        return await real_post(*args)

    monkeypatch.setattr(importing, "post", interrupted_in_the_third_batch)
    assert main(["import", str(path)]) == 130
    out, err = capsys.readouterr()
    assert out.splitlines() == ["accepted 4, duplicates 0, rejected 0"]
    assert "interrupted" in err and "run the same import again" in err
    assert len(stored(database_url)) == 4
    monkeypatch.setattr(importing, "post", real_post)
    assert main(["import", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["accepted 6, duplicates 4, rejected 0"]
    assert len(stored(database_url)) == count(database_url, "person") == 10
    assert scalar(database_url, "SELECT count(DISTINCT release_id) FROM release_version") == 10


async def _demo_figures(database_url: str) -> dict[str, Any]:
    db = Database(database_url)
    try:
        async with db.read() as conn:
            first, last = demo_data.FIRST_DAY, demo_data.LAST_DAY
            answer = await metrics.continuity(conn, clock.today(), first, last, None)
    finally:
        await db.dispose()
    return dict(answer["total"])


def test_the_exported_demo_year_imports_to_its_figures(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, scale = tmp_path / "demo.ndjson", 0.01
    assert main(["demo", "--scale", str(scale), "--export", str(path)]) == 0
    written = sum(len(person) for person in demo_data.people(scale))
    assert capsys.readouterr().out == f"wrote {written:,} events to {path}\n"
    report = run(database_url, path)
    assert (report.accepted, report.duplicates, report.rejected) == (written, 0, 0)
    figures = asyncio.run(_demo_figures(database_url))
    wanted = demo_data.expected(scale)
    assert {name: figures[name] for name in wanted} == wanted


def test_an_import_leaves_postgresql_fresh_statistics_of_what_it_stored(
    database_url: str, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "events.ndjson", [released(n, org=ORG) for n in (1, 2, 3)])
    assert run(database_url, path).accepted == 3
    if database_url.startswith("postgresql"):
        # INSERT leaves reltuples alone; ANALYZE counts the rows.
        assert scalar(database_url, "SELECT reltuples FROM pg_class WHERE relname = 'event'") == 3


def test_lines_without_an_org_or_with_another_one_are_rejected(
    database_url: str, tmp_path: Path
) -> None:
    lines = [released(1), released(2, org="PROVIDER-WIGAN"), released(3, org="HMP MDI")]
    path = write_ndjson(tmp_path / "e.jsonl", lines)
    alone = run(database_url, path)
    assert [n for n, _ in alone.reasons] == [1, 3]
    assert "no organisation" in alone.reasons[0][1]
    assert "is not 1-64 of" in alone.reasons[1][1]
    given = run(database_url, path, org=ORG)
    assert [n for n, _ in given.reasons] == [2, 3]
    assert "differs from --org" in given.reasons[0][1]
    assert stored(database_url) == [(ORG, "ev-1"), ("PROVIDER-WIGAN", "ev-2")]


def test_a_file_of_another_kind_or_a_bad_csv_header_is_refused_whole(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "events.json").write_text("[]")
    with pytest.raises(importing.UnreadableFile, match="ndjson"):
        run(database_url, tmp_path / "events.json")
    (tmp_path / "events.csv").write_text("org,event_id,type,nhs_number\n")
    with pytest.raises(importing.UnreadableFile, match=r"missing: occurred_on.*unknown: nhs_"):
        run(database_url, tmp_path / "events.csv")
    header = ",".join(importing.CSV_COLUMNS).encode()
    (tmp_path / "latin.csv").write_bytes(header + b"\nHMP-MDI-HC,caf\xe9,,,,,,,\n")
    with pytest.raises(importing.UnreadableFile, match="not UTF-8"):
        run(database_url, tmp_path / "latin.csv")


def test_the_command_prints_a_summary_and_fails_when_lines_were_rejected(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("JOINUP_DATABASE_URL", database_url)
    path = write_ndjson(tmp_path / "events.ndjson", [released(1), "not json"])
    assert main(["import", str(path), "--org", ORG]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "accepted 1, duplicates 0, rejected 1"
    assert out.splitlines()[1].startswith("  line 2: not valid JSON")
    assert f"{path.stat().st_size:,}/{path.stat().st_size:,} bytes" in err
    assert main(["import", str(tmp_path / "missing.csv")]) == 2
