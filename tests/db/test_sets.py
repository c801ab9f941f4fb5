"""A set bound as one parameter reads back as the same strings, whatever they hold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, String, event, literal_column, select, text

from app.db.sets import ArrayText, array_text, one_of

AWKWARD = ["", 'a"b', "c\\d", '\\"', "NULL", "null", " padded ", "x,y", "{z}", "é/ü", "it's"]
# PostgreSQL text holds any character but NUL (and UTF-8 no lone surrogate).
strings = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)


def _read_back(engine: Engine, values: list[str]) -> list[str]:
    with engine.connect() as conn:
        query = text("SELECT CAST(:values AS varchar[])")
        found: list[str] = conn.execute(query, {"values": array_text(values)}).scalar_one()
        return found


def test_awkward_strings_read_back_as_given(postgres_database: tuple[str, Engine]) -> None:
    _, engine = postgres_database
    assert _read_back(engine, AWKWARD) == AWKWARD
    assert _read_back(engine, []) == []


@settings(max_examples=200, deadline=None)
@given(values=st.lists(strings, max_size=8))
def test_any_strings_read_back_as_given(
    postgres_database: tuple[str, Engine], values: list[str]
) -> None:
    assert _read_back(postgres_database[1], values) == values


def test_one_of_finds_exactly_the_strings_bound(postgres_database: tuple[str, Engine]) -> None:
    _, engine = postgres_database
    value = literal_column("v", String)
    everything = text("unnest(CAST(:everything AS varchar[])) AS v")
    query = select(value).select_from(everything).where(one_of("postgresql", value, "wanted"))
    wanted = AWKWARD[:6]
    sent: list[object] = []

    def capture(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        sent.append(params)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with engine.connect() as conn:
            params = {"everything": array_text([*AWKWARD, "other"]), "wanted": wanted}
            found = conn.execute(query, params).scalars().all()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert sorted(found) == sorted(wanted)
    # The driver gets the array's text, not a list it would dump element by element.
    [bound] = sent
    assert isinstance(bound, dict) and type(bound["wanted"]) is ArrayText
