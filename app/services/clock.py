"""Today, as the contract means it: the calendar date in Europe/London."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def today() -> date:
    return datetime.now(LONDON).date()


def now() -> datetime:
    return datetime.now(UTC)
