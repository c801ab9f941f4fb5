"""Today, as the contract means it: the calendar date in Europe/London.

A process may run its clock some days ahead (`JOINUP_CLOCK_OFFSET_DAYS`): rehearsals and tests of
what time alone changes, such as a pickup window closing, move the clock instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
_offset = timedelta(0)


def set_offset_days(days: int) -> None:
    """Run this process's clock `days` ahead of the machine's (0: the machine's own)."""
    global _offset
    _offset = timedelta(days=days)


def today() -> date:
    return now().astimezone(LONDON).date()


def now() -> datetime:
    return datetime.now(UTC) + _offset
