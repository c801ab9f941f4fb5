"""A join-up record as readers see it (CONTRACT §5), built from a derived record or from the
form a release version stores it in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import date
from typing import Any, Final, TypeVar

import orjson

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
    return _view(stored(record), record.release_id, person_id, known, record.as_of)


View = TypeVar("View")
# How a stored record is shown: from its text, release id, person id, their identifiers and the
# as-of date (`stored_view`, `encoded_view`).
StoredView = Callable[[str, str, str, Mapping[str, str], date], View]


def stored_view(
    kept: str, release_id: str, person_id: str, known: Mapping[str, str], as_of: date
) -> dict[str, Any]:
    """A stored record (the JSON text its version keeps) as the contract shows it."""
    return _view(orjson.loads(kept), release_id, person_id, known, as_of)


def encoded_view(
    kept: str, release_id: str, person_id: str, known: Mapping[str, str], as_of: date
) -> orjson.Fragment:
    """`stored_view`, already encoded as JSON: the stored text goes in as it is.

    Decoding each stored record only to encode it again was a sixth of the work of answering a
    gap-list page.
    """
    named = {"release_id": release_id, "person_id": person_id, "identifiers": dict(known)}
    head = orjson.dumps(named)
    return orjson.Fragment(f'{head[:-1].decode()},{kept[1:-1]},"as_of":"{as_of.isoformat()}"}}')


def _view(
    kept: Mapping[str, Any],
    release_id: str,
    person_id: str,
    known: Mapping[str, str],
    as_of: date,
) -> dict[str, Any]:
    # The fields in the order of `encoded_view`.
    return {
        "release_id": release_id,
        "person_id": person_id,
        "identifiers": dict(known),
        **kept,
        "as_of": as_of,
    }
