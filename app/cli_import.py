"""`joinup import`: post the events of a file, one transaction per batch, with progress on
stderr and a summary of what was accepted and refused."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from app.db import statistics
from app.db.engine import Database
from app.db.errors import DatabaseUnavailable
from app.domain.rules import Rules
from app.services import importing
from app.settings import Settings

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _file_progress(source: importing.Source, lines: int, seconds: float, width: int = 40) -> None:
    done, total = source.position(), source.size
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    rate = lines / max(seconds, 1e-3)
    print(
        f"\r[{bar}] {done:,}/{total:,} bytes, {lines:,} lines posted, {rate:,.0f} lines/s",
        end="",
        file=sys.stderr,
        flush=True,
    )


@dataclass
class _Importer:
    """One import: where it posts, and what it has done so far."""

    db: Database
    rules: Rules
    batch: int
    report: importing.Report
    lines: int = 0
    analysed: int = 0  # events accepted when the planner's statistics were last refreshed
    started: float = field(default_factory=time.monotonic)

    async def post(self, source: importing.Source, window: list[importing.Line]) -> None:
        """Post a window of lines, one transaction per batch."""
        refused = importing.unposted(window)
        self.report.add(refused)
        self.lines += refused.rejected
        for batch in importing.batches(window, self.batch):
            async with self.db.batch() as conn:
                posted = await importing.post(conn, batch, self.rules)
            self.report.add(posted)
            self.lines += len(batch)
            _file_progress(source, self.lines, time.monotonic() - self.started)

    async def refresh_statistics(self, *, last: bool = False) -> None:
        """Each time the events stored by this import have doubled, and at its end."""
        grown = self.report.accepted - self.analysed
        if grown >= max(self.analysed, importing.WINDOW) or (last and grown):
            async with self.db.write_one() as conn:
                await statistics.refresh(conn)
            self.analysed = self.report.accepted


async def import_events(
    settings: Settings, path: Path, org: str | None = None, report: importing.Report | None = None
) -> importing.Report:
    """Post a file's events, one transaction per batch, so a re-run after a stop is safe.

    `report` counts only what was committed, so it is right even when the import is cut short.
    """
    report = importing.Report() if report is None else report
    db = Database(settings.database_url, settings.pool_size)
    importer = _Importer(db, settings.rules(), settings.max_batch, report)
    try:
        with importing.Source(path, org) as source:
            for window in chunks(source.lines(), importing.WINDOW):
                await importer.post(source, window)
                await importer.refresh_statistics()
            await importer.refresh_statistics(last=True)
            _file_progress(source, importer.lines, time.monotonic() - importer.started)
            print(file=sys.stderr)
    finally:
        await db.dispose()
    return report


def run(settings: Settings, path: Path, org: str | None) -> int:
    report = importing.Report()
    try:
        asyncio.run(import_events(settings, path, org, report))
    except (importing.UnreadableFile, OSError) as error:
        print(f"joinup import: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, DatabaseUnavailable) as error:
        cause = "interrupted" if isinstance(error, KeyboardInterrupt) else f"stopped: {error}"
        print(f"\njoinup import: {cause}", file=sys.stderr)
        _import_summary(report)
        print(
            "what is counted above is stored; run the same import again to post the rest",
            file=sys.stderr,
        )
        return 130 if isinstance(error, KeyboardInterrupt) else 2
    _import_summary(report)
    return 1 if report.rejected else 0


def _import_summary(report: importing.Report) -> None:
    print(
        f"accepted {report.accepted:,}, duplicates {report.duplicates:,}, "
        f"rejected {report.rejected:,}"
    )
    for number, reason in report.reasons:
        print(f"  line {number}: {reason}")
    if report.rejected > len(report.reasons):
        print(f"  and {report.rejected - len(report.reasons):,} more rejected")
