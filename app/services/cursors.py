"""Opaque page cursors that carry the filters of the list they continue (CONTRACT §5).

A cursor is the list's next position and its filters, as base64 JSON. The next page needs only
the cursor; a filter given with it must be the one it was made with, or the request is refused
(`cursor-mismatch`): a page of another list would otherwise pass for the next page of this one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from app.services.errors import ErrorItem, Invalid


@dataclass
class CursorMismatch(Invalid):
    slug: str = "cursor-mismatch"
    title: str = "Cursor used with other filters"


@dataclass(frozen=True)
class Continued:
    """What a cursor carries: where the next page starts, and the list's filters (as JSON)."""

    position: dict[str, Any]
    filters: dict[str, Any]


def as_json(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters given (None, empty ones left out), in the form a cursor keeps them."""
    kept: dict[str, Any] = {}
    for name, value in filters.items():
        if (
            value is None
            or value == ""
            or (isinstance(value, set | frozenset | list) and not value)
        ):
            continue
        if isinstance(value, set | frozenset | list):
            value = sorted(value)
        kept[name] = value.isoformat() if isinstance(value, date) else value
    return kept


def encode(position: Mapping[str, Any], filters: Mapping[str, Any]) -> str:
    payload = {**position, "f": as_json(filters)}
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode(cursor: str, given: Mapping[str, Any]) -> Continued:
    """The position and filters `cursor` carries, refused when a filter `given` with it is not
    the one it carries; Invalid when the cursor is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("f", {}), dict):
        raise unknown()
    carried = payload.pop("f", {})
    differing = sorted(name for name, value in as_json(given).items() if carried.get(name) != value)
    if differing:
        raise CursorMismatch(
            f"this cursor continues a list with other filters ({', '.join(differing)}): give "
            "it alone or with the filters it was made with, or start again without it",
            errors=[
                ErrorItem(["query", name], f"the cursor was made with {carried.get(name)!r}")
                for name in differing
            ],
        )
    return Continued(payload, carried)


def unknown() -> Invalid:
    return Invalid(
        "the cursor is not one this service gave out",
        errors=[ErrorItem(["query", "cursor"], "unknown cursor")],
    )
