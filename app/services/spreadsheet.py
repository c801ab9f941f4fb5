"""CSV that a spreadsheet reads as data (CONTRACT §5): the gap list's and the metrics'.

Every cell is written one way, whatever the list: empty for null, `true`/`false` for booleans,
ISO 8601 for dates, and text that a spreadsheet would run as a formula (a cell beginning with
`=`, `+`, `-`, `@`, a tab or a carriage return) with a leading `'`, as OWASP's advice on CSV
injection has it: free text posted by one organisation must not run in another's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from app.domain.metrics import SUMMARY_NAMES
from app.domain.vocabulary import FlagCode

FORMULA_LEADS: Final = ("=", "+", "-", "@", "\t", "\r")
SCHEMES: Final = ("nomis", "crn", "nhs", "pnc")

# The gap list's columns: a record's fields, its identifiers one scheme a column, and each flag
# as the pair `<code>_raised_on`, `<code>_resolved_on` (both empty when it was not raised), so
# that a spreadsheet can filter on any one of them.
RELEASE_COLUMNS: Final = (
    "release_id",
    "person_id",
    *SCHEMES,
    "prison",
    "released_on",
    "release_type",
    "local_authority",
    "probation_region",
    "community_provider",
    "in_treatment_at_release",
    "substance_group",
    "on_ost",
    "stage",
    "excluded_reason",
    "pickup_due_by",
    "picked_up_on",
    "late_pickup_on",
    "retention_due_on",
    "retained_12w",
    *(f"{code}_{end}" for code in FlagCode for end in ("raised_on", "resolved_on")),
    "as_of",
)
METRICS_RANGE: Final = ("as_of", "released_from", "released_to")


def cell(value: Any) -> str:
    """One value as a spreadsheet should read it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def line(values: Iterable[Any]) -> str:
    """One CSV line (RFC 4180: quoted where needed, CRLF) of `values`, each made a `cell`."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([cell(value) for value in values])
    return buffer.getvalue()


def release_row(record: Mapping[str, Any]) -> list[Any]:
    """A join-up record (as the API answers it) in the order of RELEASE_COLUMNS."""
    values = {**record, **{scheme: record["identifiers"].get(scheme) for scheme in SCHEMES}}
    for flag in record["flags"]:
        values[f"{flag['code']}_raised_on"] = flag["raised_on"]
        values[f"{flag['code']}_resolved_on"] = flag["resolved_on"]
    return [values.get(column) for column in RELEASE_COLUMNS]


def metrics_lines(answer: Mapping[str, Any]) -> list[str]:
    """The metrics as CSV: one row per group, the group's column named by `group_by` (a single
    row of the totals when there is none), then the counts, then the range they cover."""
    group_by = answer["group_by"]
    span = [answer[name] for name in METRICS_RANGE]
    header: Sequence[str] = (*SUMMARY_NAMES, *METRICS_RANGE)
    if group_by is None:
        rows = [[answer["total"][name] for name in SUMMARY_NAMES] + span]
    else:
        header = (group_by, *header)
        rows = [
            [row["group"], *(row[name] for name in SUMMARY_NAMES), *span] for row in answer["rows"]
        ]
    return [line(header), *(line(row) for row in rows)]
