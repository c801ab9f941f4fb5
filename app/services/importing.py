"""Importing events from a file: NDJSON (one envelope a line, with an `org` member) or CSV.

The file is read as a stream, a window of lines at a time. Each window is cut into batches of one
organisation each, at most the API's batch size, and every batch is posted through the loaders'
path (`loading.post_as_organisations`, so `ingest.ingest`): the same validation, identity and
idempotency as `POST /v1/events/batch`. An import that was interrupted can simply be run again:
what was stored comes back as duplicates.

Whoever calls `post` owns the transaction; the command line commits one per batch. One ingest
per transaction keeps to the writers' lock order (`app.db.locks`: the event ids first, then
people's rows), so an import queues with the API's writers instead of deadlocking with them.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from app.db import Connection
from app.domain.identifiers import SCHEMES
from app.domain.rules import Rules
from app.services import ingest, loading
from app.services.errors import ServiceError

# Lines read before they are sorted into batches: more gives fuller batches of each
# organisation, at the cost of holding them all in memory.
WINDOW = 20_000
REASONS_KEPT = 10
CSV_COLUMNS = ("org", "event_id", "type", "occurred_on", *SCHEMES, "data")
FORMATS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
# What a key's organisation may be (app/schemas/keys.py): an import posts as no other.
_ORG = re.compile(r"[A-Za-z0-9._-]{1,64}")


class UnreadableFile(ValueError):
    """The file as a whole cannot be imported (its kind, or its CSV header)."""


@dataclass(frozen=True)
class Line:
    """One line of the file: the event it posts, or why it posts none."""

    number: int
    posting: loading.Posting | None = None
    reason: str | None = None


@dataclass
class Report:
    """What an import did; `reasons` keeps the refusals of the lowest line numbers."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: list[tuple[int, str]] = field(default_factory=list)

    def refuse(self, number: int, reason: str) -> None:
        self.rejected += 1
        self._keep([(number, reason)])

    def add(self, other: Report) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self._keep(other.reasons)

    def _keep(self, reasons: list[tuple[int, str]]) -> None:
        self.reasons = sorted([*self.reasons, *reasons])[:REASONS_KEPT]


def _org_of(number: int, own: Any, given: str | None) -> str | Line:
    if own is not None and not isinstance(own, str):
        return Line(number, reason='"org" must be a string')
    if own and given and own != given:
        return Line(number, reason=f"org {own!r} differs from --org {given!r}")
    org = own or given
    if not org:
        return Line(number, reason='no organisation: give the line an "org" or pass --org')
    if not _ORG.fullmatch(org):
        return Line(number, reason=f"org {org!r} is not 1-64 of A-Z a-z 0-9 . _ -")
    return org


def _posting(number: int, envelope: dict[str, Any], given: str | None) -> Line:
    org = _org_of(number, envelope.pop("org", None), given)
    if isinstance(org, Line):
        return org
    return Line(number, posting=loading.Posting(org, envelope))


def ndjson_of(posting: loading.Posting) -> bytes:
    """A posting as one NDJSON line, the form `ndjson_line` reads back (`org` first)."""
    return orjson.dumps({"org": posting.org, **posting.event}) + b"\n"


def ndjson_line(number: int, raw: bytes, given: str | None) -> Line | None:
    """A line of NDJSON: a JSON object, the envelope plus an optional `org`. Blank: None."""
    if not raw.strip():
        return None
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return Line(number, reason=f"not valid JSON: {error.msg} at column {error.colno}")
    if not isinstance(envelope, dict):
        return Line(number, reason="not a JSON object")
    return _posting(number, envelope, given)


def csv_row(number: int, row: dict[str | None, Any], given: str | None) -> Line:
    """A CSV row: identifiers in their own columns, `data` a JSON object, empty cells absent."""
    if None in row:
        return Line(number, reason="more cells than the header names")
    cells = {name: (value or "").strip() for name, value in row.items() if name is not None}
    try:
        data = orjson.loads(cells["data"]) if cells["data"] else {}
    except orjson.JSONDecodeError as error:
        return Line(number, reason=f"data is not valid JSON: {error.msg} at column {error.colno}")
    envelope: dict[str, Any] = {
        "event_id": cells["event_id"],
        "type": cells["type"],
        "occurred_on": cells["occurred_on"],
        "person": {scheme: cells[scheme] for scheme in SCHEMES if cells[scheme]},
        "data": data,
    }
    if cells.get("corrects"):
        envelope["corrects"] = cells["corrects"]
    if cells["org"]:
        envelope["org"] = cells["org"]
    return _posting(number, envelope, given)


def _check_header(names: Sequence[str]) -> None:
    missing = [name for name in CSV_COLUMNS if name not in names]
    unknown = [name for name in names if name not in (*CSV_COLUMNS, "corrects")]
    if missing or unknown:
        raise UnreadableFile(
            f"the CSV header must name {', '.join(CSV_COLUMNS)} and may name corrects; "
            f"missing: {', '.join(missing) or 'none'}, unknown: {', '.join(unknown) or 'none'}"
        )


class Source:
    """An open file to import; iterate `lines()`, watch `position()` against `size`."""

    def __init__(self, path: Path, org: str | None = None) -> None:
        kind = FORMATS.get(path.suffix.lower())
        if kind is None:
            raise UnreadableFile(f"{path.name}: name it .ndjson, .jsonl or .csv")
        self.kind, self.org = kind, org
        self.size = path.stat().st_size
        self._file: BinaryIO = path.open("rb")

    def position(self) -> int:
        """Bytes read so far (read ahead of the line being posted, by a buffer at most)."""
        return self._file.tell()

    def lines(self) -> Iterator[Line]:
        return self._ndjson() if self.kind == "ndjson" else self._csv()

    def _ndjson(self) -> Iterator[Line]:
        for number, raw in enumerate(self._file, start=1):
            line = ndjson_line(number, raw, self.org)
            if line is not None:
                yield line

    def _csv(self) -> Iterator[Line]:
        # utf-8-sig: spreadsheets often start a CSV with a byte-order mark.
        text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        try:
            _check_header(reader.fieldnames or ())
            for row in reader:
                yield csv_row(reader.line_num, row, self.org)
        except UnicodeDecodeError:
            raise UnreadableFile(f"not UTF-8 text after line {reader.line_num}") from None
        finally:
            # Let go of the file without closing it: `position()` still reads it.
            text.detach()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _reason(problem: ServiceError) -> str:
    details = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in problem.errors[:3])
    return f"{problem.slug}: {problem.detail}" + (f" ({details})" if details else "")


def unposted(window: Iterable[Line]) -> Report:
    """The lines of a window that post nothing (not an event, or no organisation), refused."""
    report = Report()
    for line in window:
        if line.posting is None:
            report.refuse(line.number, line.reason or "")
    return report


def batches(window: Iterable[Line], size: int) -> Iterator[list[Line]]:
    """A window's events as batches of one organisation each, at most `size` lines apiece."""
    by_org: dict[str, list[Line]] = defaultdict(list)
    for line in window:
        if line.posting is not None:
            by_org[line.posting.org].append(line)
    for _, lines in sorted(by_org.items()):
        for start in range(0, len(lines), size):
            yield lines[start : start + size]


async def post(conn: Connection, batch: list[Line], rules: Rules) -> Report:
    """Post a batch of events in the caller's transaction; count and explain what happened."""
    parsed = [(line.number, line.posting) for line in batch if line.posting is not None]
    totals = loading.Totals()
    results = await loading.post_as_organisations(conn, [p for _, p in parsed], rules, totals)
    report = Report(accepted=totals.accepted, duplicates=totals.duplicates)
    for (number, _), result in zip(parsed, results, strict=True):
        if result.status == ingest.REJECTED:
            report.refuse(number, _reason(result.problem) if result.problem else result.status)
    return report
