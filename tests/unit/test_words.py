"""The pages say something in words for every code of the contract's vocabularies."""

from __future__ import annotations

from app.domain.events import EVENT_TYPES
from app.domain.identifiers import SCHEMES
from app.domain.records import FLAG_CODES, STAGES
from app.web import words


def test_every_stage_flag_event_type_and_scheme_has_words() -> None:
    assert set(words.STAGES) == set(STAGES)
    assert set(words.FLAGS) == set(FLAG_CODES) == set(words.FLAG_STEPS)
    assert set(EVENT_TYPES) <= set(words.EVENTS)
    assert set(words.SCHEMES) == set(SCHEMES)
    assert set(words.STAGE_STEPS) <= set(STAGES)
