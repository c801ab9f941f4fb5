"""The wire's field types: days, event ids, free text and the codes of prisons, probation
regions and local authorities, each checked and normalised as it is parsed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from app.domain import identifiers, vocabulary

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


def _in_range(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"a date must lie between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range)]
EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
EventId = Annotated[str, StringConstraints(strict=True, pattern=EVENT_ID.pattern)]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    # Names and codes have no use for control characters, and PostgreSQL cannot store a NUL.
    if _CONTROL.search(value):
        raise ValueError("control characters (U+0000 to U+001F, U+007F) are not allowed")
    return value


Text = Annotated[
    str,
    StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_printable),
    Field(json_schema_extra={"pattern": "^[^\\x00-\\x1f\\x7f]*$"}),
]


def checked(normalised: Callable[[str], str]) -> Any:
    """A validator normalising a value as app/domain/identifiers does everywhere else."""

    def check(value: str) -> str:
        try:
            return normalised(value)
        except identifiers.InvalidIdentifier as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(check)


_CODE = StringConstraints(strict=True, max_length=100)
# What the schema documents; the value is trimmed and upper-cased before it is checked.
_ONS = "^[EWSN][0-9]{8}$"
PrisonCode = Annotated[
    str,
    _CODE,
    checked(identifiers.prison),
    Field(description="A prison's 3-letter code", json_schema_extra={"pattern": "^[A-Z]{3}$"}),
]
LocalAuthority = Annotated[
    str,
    _CODE,
    checked(identifiers.local_authority),
    Field(description="An ONS local authority code", json_schema_extra={"pattern": _ONS}),
]
ProbationRegion = Annotated[
    str,
    _CODE,
    checked(identifiers.probation_region),
    Field(
        description="One of the twelve probation regions, matched ignoring case, spaces, "
        "punctuation and and/&, and stored as: "
        + "; ".join(region.value for region in vocabulary.ProbationRegion)
    ),
]
