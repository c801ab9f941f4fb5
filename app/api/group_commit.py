"""Group commit: one-event posts that arrive together share a transaction.

A one-event post costs a transaction of about a dozen statements, whatever the event; alone,
those set the rate at which a process takes single events, and their p99. So concurrent
one-event posts of an organisation queue here, and one task per organisation stores what has
queued since its last commit in one transaction (`ingest.ingest_each`): each post is decided as
if it had been posted alone, in the order it arrived, gets its own answer and its own audit row,
and is answered only after that transaction has committed.

If the shared transaction fails, each of its posts is tried again alone, so that a post that
cannot be stored fails only itself. A request that goes away while its post waits is dropped
from the queue; once its transaction has started, its event is stored like any other (posting
it again answers `duplicate`).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from app.db import Connection
from app.db.engine import Database
from app.domain.rules import Rules
from app.services import ingest
from app.services.keys import Principal
from app.services.submissions import Submission

Store = Callable[
    [Connection, Sequence[tuple[Principal, Submission]], Rules], Awaitable[list[ingest.Outcome]]
]


@dataclass(frozen=True)
class _Waiting:
    who: Principal
    item: Submission
    answer: asyncio.Future[ingest.Outcome]


class GroupCommit:
    """Concurrent one-event posts of one organisation, stored in shared transactions of at most
    `most` posts (1 stores each post in a transaction of its own)."""

    def __init__(
        self, db: Database, rules: Rules, most: int, store: Store = ingest.ingest_each
    ) -> None:
        self._db = db
        self._rules = rules
        self._most = most
        self._store = store
        self._queues: dict[str, list[_Waiting]] = {}
        self._committers: dict[str, asyncio.Task[None]] = {}

    async def post(self, who: Principal, item: Submission) -> ingest.Outcome:
        """Store one post, with others that came meanwhile; its outcome once committed."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(who, item, loop.create_future())
        self._queues.setdefault(who.org, []).append(waiting)
        if who.org not in self._committers:
            # In a context of its own: not the request id of the post that happened to start it.
            task = loop.create_task(self._commit_queued(who.org), context=contextvars.Context())
            self._committers[who.org] = task
        return await waiting.answer

    async def drain(self) -> None:
        """Wait until every queued post has been answered."""
        while self._committers:
            await asyncio.gather(*self._committers.values(), return_exceptions=True)

    def _take(self, org: str) -> list[_Waiting]:
        queue = [w for w in self._queues.pop(org, []) if not w.answer.done()]
        if len(queue) > self._most:
            self._queues[org] = queue[self._most :]
        return queue[: self._most]

    async def _commit_queued(self, org: str) -> None:
        try:
            while group := self._take(org):
                await self._commit(group)
        finally:
            # Nothing awaits between the last empty take and here: no post is left unserved.
            del self._committers[org]

    async def _commit(self, group: list[_Waiting]) -> None:
        try:
            async with self._db.write() as conn:
                outcomes = await self._store(conn, [(w.who, w.item) for w in group], self._rules)
        except Exception as error:
            if len(group) > 1:
                for waiting in group:
                    await self._commit([waiting])
            elif not group[0].answer.done():
                group[0].answer.set_exception(error)
            return
        except BaseException:
            # Cancelled (the process is stopping): no answer is coming for these posts.
            for waiting in group:
                waiting.answer.cancel()
            raise
        for waiting, outcome in zip(group, outcomes, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(outcome)
