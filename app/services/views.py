"""A join-up record as readers see it (CONTRACT §5), built from a derived record or from the
form a release version stores it in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any, Final

from app.domain.records import Flag, JoinUpRecord

# The fields a release version stores: all but the release id (a column of its own) and the
# as-of date (any day the version covers).
_STORED: Final = tuple(
    f.name for f in fields(JoinUpRecord) if f.name not in ("release_id", "flags", "as_of")
)


def _flag(flag: Flag) -> dict[str, Any]:
    return {
        "code": flag.code,
        "raised_on": flag.raised_on,
        "resolved_on": flag.resolved_on,
        "open": flag.open,
    }


def stored(record: JoinUpRecord) -> dict[str, Any]:
    """What a release version keeps of its record."""
    # Built by hand: dataclasses.asdict deep-copies every value.
    kept = {name: getattr(record, name) for name in _STORED}
    kept["flags"] = [_flag(flag) for flag in record.flags]
    return kept


def record_view(record: JoinUpRecord, person_id: str, known: Mapping[str, str]) -> dict[str, Any]:
    """A derived record as the contract shows it, with the person it belongs to."""
    return stored_view(stored(record), record.release_id, person_id, known, record.as_of)


def stored_view(
    kept: Mapping[str, Any],
    release_id: str,
    person_id: str,
    known: Mapping[str, str],
    as_of: date,
) -> dict[str, Any]:
    """A stored record as the contract shows it (dates may be ISO strings: JSON keeps them so)."""
    view: dict[str, Any] = {
        "release_id": release_id,
        "person_id": person_id,
        "identifiers": dict(known),
        **kept,
    }
    # The as-of date last but for the flags, as in every view.
    view["as_of"] = as_of
    view["flags"] = view.pop("flags")
    return view
