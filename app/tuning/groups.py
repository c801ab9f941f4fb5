"""Group commit: work that arrives while a transaction commits waits, and goes in the next one.

A transaction costs its statements and a commit (a WAL flush on PostgreSQL, the write lock on
SQLite) whatever it holds. `Groups` queues items by key; one task per key takes what has queued
(at most `most` items) and hands the list to `commit`, which stores them in one transaction and
gives each item its answer. Each caller is answered only after that commit. If a group's commit
fails, each of its items is committed again alone, so an item that cannot be stored fails only
its own caller. A caller that goes away while its item waits is dropped from the queue; once its
group has started, its item is stored like the others.

Before taking a group, the task lets the event loop go round a few times (GATHER_TURNS), so that
items already on their way join it: a request whose body has arrived is a few awaits (its
dependencies, its parsing) from queueing its item, and a group taken at once left those for the
next transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.tuning import GATHER_TURNS

Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class _Waiting(Generic[Item, Answer]):
    item: Item
    answer: asyncio.Future[Answer]


class Groups(Generic[Item, Answer]):
    """Items committed in groups, one group of each key at a time."""

    def __init__(
        self,
        commit: Callable[[list[Item]], Awaitable[list[Answer]]],
        most: int,
        gather: int = GATHER_TURNS,
    ) -> None:
        self._commit_items = commit
        self._most = most
        self._gather = gather
        self._queues: dict[Hashable, list[_Waiting[Item, Answer]]] = {}
        self._committers: dict[Hashable, asyncio.Task[None]] = {}

    async def submit(self, key: Hashable, item: Item) -> Answer:
        """Commit `item` with the others of `key` that came meanwhile; its answer once committed."""
        loop = asyncio.get_running_loop()
        waiting: _Waiting[Item, Answer] = _Waiting(item, loop.create_future())
        self._queues.setdefault(key, []).append(waiting)
        if key not in self._committers:
            # In a context of its own, not that of the caller that happened to start it (its
            # request id, say).
            task = loop.create_task(self._commit_queued(key), context=contextvars.Context())
            self._committers[key] = task
        return await waiting.answer

    async def drain(self) -> None:
        """Wait until every item queued so far has been answered."""
        while self._committers:
            await asyncio.gather(*self._committers.values(), return_exceptions=True)

    async def _gathered(self, key: Hashable) -> list[_Waiting[Item, Answer]]:
        """The next group of `key`, once the items on their way have had `gather` turns of the
        event loop to join the queue."""
        for _ in range(self._gather):
            await asyncio.sleep(0)
        return self._take(key)

    def _take(self, key: Hashable) -> list[_Waiting[Item, Answer]]:
        queue = [w for w in self._queues.pop(key, []) if not w.answer.done()]
        if len(queue) > self._most:
            self._queues[key] = queue[self._most :]
        return queue[: self._most]

    async def _commit_queued(self, key: Hashable) -> None:
        try:
            while group := await self._gathered(key):
                await self._commit(group)
        finally:
            # Nothing awaits between the last empty take and here: no item is left unserved.
            del self._committers[key]

    async def _commit(self, group: list[_Waiting[Item, Answer]]) -> None:
        try:
            answers = await self._commit_items([w.item for w in group])
        except Exception as error:
            if len(group) > 1:
                for waiting in group:
                    await self._commit([waiting])
            elif not group[0].answer.done():
                group[0].answer.set_exception(error)
            return
        except BaseException:
            # Cancelled (the process is stopping): no answer is coming for these items.
            for waiting in group:
                waiting.answer.cancel()
            raise
        for waiting, answer in zip(group, answers, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(answer)
