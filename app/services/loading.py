"""Posting many events from a trusted loader (the demo, an import) through the API's own path:
the same validation, identity resolution, idempotency and derivation as `POST /v1/events/batch`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.db import Connection
from app.domain.rules import Rules
from app.services import clock, ingest
from app.services.ingest import submissions
from app.services.principal import Principal


@dataclass(frozen=True)
class Posting:
    """One event as posted, and the organisation that posts it."""

    org: str
    event: dict[str, Any]


@dataclass
class Totals:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def add(self, outcome: ingest.Outcome) -> None:
        self.accepted += outcome.count(ingest.ACCEPTED)
        self.duplicates += outcome.count(ingest.DUPLICATE)
        self.rejected += outcome.count(ingest.REJECTED)


async def post_as_organisations(
    conn: Connection, postings: Iterable[Posting], rules: Rules, totals: Totals
) -> list[ingest.ItemResult]:
    """Post each organisation's events as one non-atomic batch of that organisation.

    Answers each posting's result in the order given (an import reports refusals by line).
    """
    given = list(postings)
    by_org: dict[str, list[int]] = defaultdict(list)
    for position, posting in enumerate(given):
        by_org[posting.org].append(position)
    today = clock.today()
    results: dict[int, ingest.ItemResult] = {}
    for org, positions in sorted(by_org.items()):
        principal = Principal(key_id="loader", org=org, roles=frozenset({"submitter"}))
        items = [submissions.parse(given[p].event, i, today) for i, p in enumerate(positions)]
        outcome = await ingest.ingest(conn, principal, items, atomic=False, rules=rules)
        totals.add(outcome)
        results.update((positions[r.index], r) for r in outcome.results)
    return [results[position] for position in range(len(given))]
