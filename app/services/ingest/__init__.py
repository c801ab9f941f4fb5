"""Taking events in: every way an event reaches the store goes through here.

- Parsing (`submissions`): a posted body becomes `Submission`s, each the validated event or the
  reason it could not be parsed, before any connection is held.
- A batch (`ingest`): one post of many events, decided in order and stored in its transaction,
  all or none when atomic. The API's batch route, `joinup import`, the demo loader
  (app/services/loading.py) and the HMPPS intake all come this way.
- A single post (`group_commit.GroupCommit`): one-event posts of an organisation that arrive
  together are queued and stored in one shared transaction (`ingest_each`), each decided as if
  posted alone, with its own answer and audit row.

Both paths store a post the same way (`posts`): lock the event ids it names, decide every item
in memory against what is stored (`decisions`), lock and claim the people it touches, then
write in a few statements and re-derive each affected person once. Every refusal is decided
before anything is written, so a refused event leaves no trace but its audit line. What each
item came to is in `outcomes`.
"""

from __future__ import annotations

from app.services.ingest.outcomes import (
    ACCEPTED,
    DRY_RUN,
    DUPLICATE,
    IDENTITY_CONFLICT,
    REJECTED,
    ItemResult,
    Outcome,
)
from app.services.ingest.posts import ingest, ingest_each, rehearse

__all__ = [
    "ACCEPTED",
    "DRY_RUN",
    "DUPLICATE",
    "IDENTITY_CONFLICT",
    "REJECTED",
    "ItemResult",
    "Outcome",
    "ingest",
    "ingest_each",
    "rehearse",
]
