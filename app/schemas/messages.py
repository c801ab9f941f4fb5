"""Validation errors in joinup's own words, not the validation library's.

Pydantic describes a failure in its own terms ("Value error, ...", "Input tag 'x' found using
'type' does not match any of the expected tags: ..."). A sender needs to know what to change, so
each error is said again here: what was wrong, with the value it sent where that is no personal
data (never an identifier of a person, nor a path's value), and what would be right.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from app.domain.vocabulary import EventType

EVENT_TYPES: Final = tuple(str(type_) for type_ in EventType)

# Locations whose values are personal data: said never to be echoed back.
_PERSONAL: Final = frozenset({"person", "nomis", "crn", "nhs", "pnc", "value"})
_ECHO_LENGTH: Final = 60
_PATTERNS: Final = {
    "^[A-Za-z0-9._:-]{1,128}$": "an event id is 1 to 128 characters of A-Z a-z 0-9 . _ : -",
}


def nearest(given: str, known: Sequence[str]) -> str | None:
    """The known word closest to `given`, if one is close enough to be what was meant."""
    found = difflib.get_close_matches(given, known, n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_word(what: str, given: Any, known: Sequence[str]) -> str:
    """`given` is not one of `known`: says so, with the nearest known one when there is one."""
    if not isinstance(given, str):
        return f"{what} must be one of {', '.join(known)}"
    guess = nearest(given, known)
    hint = f"; did you mean {guess!r}?" if guess else ""
    return f"{_echo(given)} is not {what}{hint} (one of {', '.join(known)})"


def _echo(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ECHO_LENGTH else text[: _ECHO_LENGTH - 4] + "...'"


def _expected(ctx: Mapping[str, Any]) -> list[str]:
    # Pydantic gives the allowed words as "'a', 'b' or 'c'".
    words = str(ctx.get("expected", "")).replace(" or ", ", ").split(", ")
    return [word.strip("'") for word in words if word]


def _literal(error: Mapping[str, Any]) -> str:
    return unknown_word("an allowed value", error.get("input"), _expected(error.get("ctx", {})))


def _tag(error: Mapping[str, Any]) -> str:
    return unknown_word("an event type", error.get("ctx", {}).get("tag"), EVENT_TYPES)


def _extra(error: Mapping[str, Any]) -> str:
    return f"{error['loc'][-1]!r} is not a field here; leave it out or check its spelling"


def _length(unit: str) -> Callable[[Mapping[str, Any]], str]:
    def say(error: Mapping[str, Any]) -> str:
        ctx = error.get("ctx", {})
        if "max_length" in ctx:
            return f"at most {ctx['max_length']} {unit}"
        return (
            f"at least {ctx['min_length']} {unit}"
            if ctx.get("min_length", 0) > 1
            else ("must not be empty")
        )

    return say


_SAID: Final[dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "missing": lambda _: "required: this field must be given",
    "extra_forbidden": _extra,
    "literal_error": _literal,
    "enum": _literal,
    "union_tag_invalid": _tag,
    "union_tag_not_found": lambda _: f"give the event's type, one of {', '.join(EVENT_TYPES)}",
    "string_type": lambda _: "must be a string (text in double quotes)",
    "bool_type": lambda _: "must be true or false, a JSON boolean and not a string",
    "bool_parsing": lambda _: "must be true or false",
    "int_parsing": lambda _: "must be a whole number",
    "int_type": lambda _: "must be a whole number",
    "list_type": lambda _: "must be a list ([...])",
    "model_type": lambda _: "must be an object ({...})",
    "model_attributes_type": lambda _: "must be an object ({...})",
    "dict_type": lambda _: "must be an object ({...})",
    "date_type": lambda _: "a date is written YYYY-MM-DD",
    "date_parsing": lambda _: "a date is written YYYY-MM-DD, such as 2026-03-02",
    "date_from_datetime_parsing": lambda _: "a date is written YYYY-MM-DD, such as 2026-03-02",
    "datetime_parsing": lambda _: "a time is written as ISO 8601, such as 2026-03-02T09:30:00Z",
    "datetime_from_date_parsing": lambda _: (
        "a time is written as ISO 8601, such as 2026-03-02T09:30:00Z"
    ),
    "string_too_long": _length("characters"),
    "string_too_short": _length("characters"),
    "too_long": _length("items"),
    "too_short": _length("items"),
    "string_pattern_mismatch": lambda e: _PATTERNS.get(
        e["ctx"]["pattern"], f"must match the pattern {e['ctx']['pattern']}"
    ),
    "greater_than_equal": lambda e: f"must be at least {e['ctx']['ge']}",
    "less_than_equal": lambda e: f"must be at most {e['ctx']['le']}",
}
# The kinds of error whose value is echoed back (a vocabulary word is, by `unknown_word`).
_ECHOED: Final = frozenset(
    {
        *("string_type", "bool_type", "bool_parsing", "int_parsing", "int_type"),
        *("date_type", "date_parsing", "date_from_datetime_parsing", "datetime_parsing"),
        *("string_pattern_mismatch", "greater_than_equal", "less_than_equal", "value_error"),
    }
)


def personal(loc: Sequence[Any]) -> bool:
    """Whether the value at `loc` may be personal data (an identifier of a person)."""
    return any(part in _PERSONAL for part in loc)


def message(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) in joinup's words."""
    kind = error.get("type", "")
    if kind in _SAID:
        said = _SAID[kind](error)
    elif kind == "value_error":
        said = str(error.get("ctx", {}).get("error", error["msg"]))
    else:
        said = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    # Only a plain value is echoed: a list or object may be deep, large, or both.
    scalar = isinstance(given, str | int | float | bool) or given is None
    if kind in _ECHOED and scalar and not personal(error.get("loc", ())) and "input" in error:
        said = f"{said} (got {_echo(given)})"
    return said
