"""An event id posted again with other content (409 `event-id-conflict`), said so that the
sender can fix it: which fields differ from what is stored, and what to post instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from app.services.errors import Conflict, ErrorItem

# The content of an event, as stored; `person` and `data` are compared member by member.
CONTENT: Final = ("type", "occurred_on", "person", "data", "corrects")
_DIFFERS: Final = "differs from the event stored under this event_id"


def content_of(row: Any) -> dict[str, Any]:
    """A stored event's (or a stored event row's) content, as `differing` compares it."""
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name)
    return {name: get(name) for name in CONTENT}


def differing(posted: Mapping[str, Any], stored: Mapping[str, Any]) -> list[list[str]]:
    """The fields (as locations such as ["data", "prison"]) in which two contents differ."""
    found: list[list[str]] = []
    for name in CONTENT:
        mine, theirs = posted.get(name), stored.get(name)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            members = sorted(set(mine) | set(theirs))
            found += [[name, m] for m in members if mine.get(m) != theirs.get(m)]
        elif mine != theirs:
            found.append([name])
    return found


def event_id_conflict(event_id: str, fields: list[list[str]]) -> Conflict:
    """The refusal, naming the fields that differ (not their values: they may be personal)."""
    named = ", ".join(".".join(loc) for loc in fields) or "content"
    return Conflict(
        f"event {event_id!r} was posted before with a different {named}. A posted event is "
        "never changed by posting it again: to change it, post a correction with a new "
        f'event_id and "corrects": "{event_id}" (or retract it and post the new event)',
        slug="event-id-conflict",
        title="Event id already used",
        errors=[ErrorItem(loc, _DIFFERS) for loc in fields],
    )
