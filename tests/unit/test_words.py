"""The pages say something in words for every code of the contract's vocabularies."""

from __future__ import annotations

from app.domain.vocabulary import EventType, FlagCode, Scheme, Stage
from app.web import words


def test_every_stage_flag_event_type_and_scheme_has_words() -> None:
    assert set(words.STAGES) == set(Stage)
    assert set(words.FLAGS) == set(FlagCode) == set(words.FLAG_STEPS)
    assert set(EventType) <= set(words.EVENTS)
    assert set(words.SCHEMES) == set(Scheme)
    assert set(words.STAGE_STEPS) <= set(Stage)
