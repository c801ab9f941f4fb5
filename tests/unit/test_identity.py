"""The identity ledger and the parts of a person (app/domain/identity.py), without a database."""

from __future__ import annotations

from app.domain.identity import Conflict, Held, Ledger, may_part, parts

A, B, X, Y = ("nomis", "A0001BC"), ("nomis", "A0002BC"), ("crn", "X000001"), ("crn", "X000002")


def test_identifiers_of_two_people_conflict_and_name_both() -> None:
    ledger = Ledger({A: Held("p", 1), X: Held("q", 1)})
    found = ledger.resolve([A, X])
    assert isinstance(found, Conflict) and found.people == {"p", "q"}


def test_a_second_value_of_a_scheme_conflicts_but_a_held_one_does_not() -> None:
    ledger = Ledger({A: Held("p", 1), X: Held("p", 1)})
    refused = ledger.resolve([A, Y])
    assert isinstance(refused, Conflict) and refused.people == {"p"}
    assert ledger.resolve([A, X]) == "p"
    assert ledger.resolve([Y]) is None


def test_a_person_stored_with_two_values_of_a_scheme_keeps_both() -> None:
    ledger = Ledger({X: Held("p", 1), Y: Held("p", 1)})
    assert ledger.resolve([X]) == "p" and ledger.resolve([Y]) == "p"


def test_the_last_carrier_stopping_releases_an_identifier_and_attach_undoes_it() -> None:
    ledger = Ledger({A: Held("p", 2), X: Held("p", 1)})
    ledger.detach("p", [A, X])
    assert ledger.owner == {A: "p"} and ledger.resolve([Y]) is None
    changes = ledger.changes()
    assert list(changes.released) == [X] and changes.updated[A].delta == -1
    ledger.attach("p", [A, X])
    assert ledger.changes().released == [] and ledger.changes().updated == {}


def test_new_identifiers_are_claimed_with_their_carriers() -> None:
    ledger = Ledger({})
    ledger.attach("n", [A, X])
    ledger.attach("n", [X])
    assert ledger.changes().new == {A: Held("n", 1), X: Held("n", 2)}


def test_only_an_event_that_linked_two_held_identifiers_may_part_a_person() -> None:
    assert may_part([A, X], {A, X})
    assert not may_part([A, X], {A})
    assert not may_part([A], {A, X})


def test_parts_are_the_groups_linked_by_shared_identifiers_earliest_first() -> None:
    assert parts([(3, [X]), (1, [A]), (2, [A, B])]) == [[1, 2], [3]]
    assert parts([(1, [A]), (2, [X]), (3, [A, X])]) == [[1, 2, 3]]
    assert parts([(5, [Y]), (4, [X, Y]), (9, [X])]) == [[4, 5, 9]]
