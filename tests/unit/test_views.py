"""A stored record sent as it is stored reads exactly as the same record decoded and encoded."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from app.domain.records import JoinUpRecord, derive
from app.domain.rules import Rules
from app.services.views import encoded_view, record_view, stored, stored_view
from tests.support.builders import (
    community_started,
    example_a,
    example_b,
    history,
    ost_prescribed,
    released,
    treatment_started,
)

KNOWN = {"nomis": "A1234BC", "pnc": "2012/0052834K", "crn": "X123456"}


def _records() -> list[JoinUpRecord]:
    # Between them: open and resolved flags, a late pickup, a name that JSON escapes, nulls.
    late = history(
        treatment_started("2026-01-05", "opiate", on_ost=True),
        ost_prescribed("2026-01-05", "2026-01-06"),
        released("2026-03-02", "licence", community_provider='Wigan "North" ✓'),
        community_started("2026-05-01"),
    )
    records = []
    for events in (example_a(), example_b(), late):
        for as_of in ("2026-03-02", "2026-03-30", "2026-09-01"):
            records += derive(events, date.fromisoformat(as_of), Rules())
    return records


@pytest.mark.parametrize("record", _records(), ids=lambda r: f"{r.stage}-{r.as_of}")
def test_a_stored_record_is_sent_as_the_view_of_the_record(record: JoinUpRecord) -> None:
    # As a release version keeps it: the text orjson gives for `stored`.
    kept = orjson.dumps(stored(record)).decode()
    args = (kept, record.release_id, "person-1", KNOWN, record.as_of)
    sent = orjson.dumps(encoded_view(*args))
    assert sent == orjson.dumps(stored_view(*args))
    # The same fields, in the same order, as a record derived on the spot.
    assert sent == orjson.dumps(record_view(record, "person-1", KNOWN))
    assert list(orjson.loads(sent))[-2:] == ["flags", "as_of"]
