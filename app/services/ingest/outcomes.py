"""What a post's items came to: each item's result, and the post's outcome."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.services import identity
from app.services.errors import Conflict, ServiceError

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
IDENTITY_CONFLICT = "identity-conflict"
# The audit outcome of a post that was only checked (`posts.rehearse`).
DRY_RUN = "dry-run"


@dataclass
class ItemResult:
    index: int
    event_id: str | None
    status: str
    person_id: str | None = None
    problem: ServiceError | None = None
    # The stored people the item is about, for the audit: those it was (or would have been)
    # posted about, or those a refused identity conflict names.
    people: tuple[str, ...] = ()


@dataclass
class Outcome:
    results: list[ItemResult]
    stored: bool = True

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def identity_conflicts(self) -> int:
        """Items refused because their identifiers cannot be one person."""
        return sum(1 for r in self.results if r.problem and r.problem.slug == IDENTITY_CONFLICT)


def not_stored(outcome: list[ItemResult], new_people: set[str]) -> list[ItemResult]:
    """Results of an atomic post that was refused: nothing of it is stored. Each item still
    names, for the audit, the stored people it would have been posted about."""
    aborted = Conflict(
        "not stored: another event of this atomic batch was refused", slug="batch-not-stored"
    )
    return [
        r
        if r.status != ACCEPTED
        else ItemResult(
            r.index,
            r.event_id,
            REJECTED,
            problem=aborted,
            people=tuple(p for p in r.people if p not in new_people),
        )
        for r in outcome
    ]


def after_parting(
    results: list[ItemResult], org: str, parting: identity.Parting
) -> list[ItemResult]:
    """The results, each accepted event's person the one it ended with after a split."""
    ended = {e: person_id for (o, e), person_id in parting.moved.items() if o == org}
    return [
        replace(r, person_id=ended[r.event_id], people=(ended[r.event_id],))
        if r.status == ACCEPTED and r.event_id in ended
        else r
        for r in results
    ]
