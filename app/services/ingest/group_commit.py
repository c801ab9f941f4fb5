"""One-event posts that arrive together share a transaction.

A one-event post costs a transaction of about a dozen statements, whatever the event; alone,
those set the rate at which a process takes single events, and their p99. So concurrent
one-event posts of an organisation are committed in groups (`app.tuning.groups`), in one
transaction each (`ingest.ingest_each`): each post is decided as if it had been posted alone, in
the order it arrived, gets its own answer and its own audit row, and is answered only after
that transaction has committed. If a group's transaction fails, each of its posts is tried
again alone, so a post that cannot be stored fails only itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from app.db import Connection
from app.db.engine import Database
from app.domain.rules import Rules
from app.services import ingest
from app.services.ingest.submissions import Submission
from app.services.principal import Principal
from app.tuning.groups import Groups

Post = tuple[Principal, Submission]
Store = Callable[[Connection, Sequence[Post], Rules], Awaitable[list[ingest.Outcome]]]


class GroupCommit:
    """Concurrent one-event posts of each organisation, stored in shared transactions of at most
    `most` posts (1 stores each post in a transaction of its own)."""

    def __init__(
        self, db: Database, rules: Rules, most: int, store: Store = ingest.ingest_each
    ) -> None:
        self._db = db
        self._rules = rules
        self._store = store
        self._groups: Groups[Post, ingest.Outcome] = Groups(self._commit, most)

    async def post(self, who: Principal, item: Submission) -> ingest.Outcome:
        """Store one post, with others of its organisation that came meanwhile; its outcome once
        committed."""
        return await self._groups.submit(who.org, (who, item))

    async def drain(self) -> None:
        """Wait until every post queued so far has been answered."""
        await self._groups.drain()

    async def _commit(self, posts: list[Post]) -> list[ingest.Outcome]:
        async with self._db.write() as conn:
            return await self._store(conn, posts, self._rules)
