"""One posted event, parsed and validated, before anything is looked up or stored."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from app.schemas import messages
from app.schemas.events import EVENT_ADAPTER, EventCreate
from app.services.errors import ErrorItem, Invalid, ServiceError
from app.tuning import PARSE_TURN
from app.tuning.turns import in_turns


@dataclass(frozen=True)
class Submission:
    """One posted item: the parsed event, or the reason it could not be parsed."""

    index: int
    event_id: str | None
    event: EventCreate | None = None
    problem: ServiceError | None = None


def _error_items(exc: ValidationError) -> list[ErrorItem]:
    items = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if not (isinstance(part, str) and "." in part)]
        items.append(ErrorItem(loc or ["type"], messages.message(error)))
    return items


def parse(raw: Any, index: int, today: date) -> Submission:
    """Validate one posted event against the contract's envelope and its type's data."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    event_id = event_id if isinstance(event_id, str) else None
    try:
        event = EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        problem = Invalid("the event does not match the contract", errors=_error_items(exc))
        return Submission(index, event_id, problem=problem)
    if event.occurred_on > today + timedelta(days=1):
        problem = Invalid(
            "occurred_on is more than one day after today",
            errors=[ErrorItem(["occurred_on"], f"must be on or before {today + timedelta(1)}")],
        )
        return Submission(index, event_id, problem=problem)
    if event.corrects == event.event_id:
        problem = Invalid(
            "an event cannot correct itself",
            errors=[ErrorItem(["corrects"], "names the event itself")],
        )
        return Submission(index, event_id, problem=problem)
    return Submission(index, event.event_id, event=event)


async def parse_all(raw: Sequence[Any], today: date) -> list[Submission]:
    """`parse` of every posted item, by index, handing the event loop back now and then."""
    parsed: list[Submission] = []
    async for chunk in in_turns(raw, PARSE_TURN):
        first = len(parsed)
        parsed += [parse(event, first + i, today) for i, event in enumerate(chunk)]
    return parsed


def content_hash(event: EventCreate) -> str:
    canonical = orjson.dumps(event.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
