"""Long CPU-bound loops hand the event loop back between chunks.

A worker serves many requests on one event loop. Parsing, deciding and deriving a 1,000-event
batch are tens of milliseconds of pure Python each; done in one go, every handover view and
gap-list page that arrives meanwhile waits behind them. Done a chunk at a time, with a yield to
the loop between chunks, the reads take their turn and the batch takes barely longer.

A yield alone gives a read one step between two chunks, and a read takes several (its query,
its audit row, its answer), each waiting behind a chunk. So work done `yielding_to` readers
also pauses between chunks while any of them is in flight in the process, leaving the core to
them: batches are a backfill's, and can wait; the person on the phone to probation cannot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from app.tuning import READER_PAUSE, SLICE_SECONDS

Item = TypeVar("Item")
Result = TypeVar("Result")
Args = ParamSpec("Args")


class Readers:
    """The reads in flight in this process."""

    def __init__(self) -> None:
        self.in_flight = 0

    @contextmanager
    def serving(self) -> Iterator[None]:
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


_yielding_to: ContextVar[Readers | None] = ContextVar("joinup_yielding_to", default=None)


@contextmanager
def yielding_to(readers: Readers) -> Iterator[None]:
    """Within the block, `in_turns` pauses between chunks while `readers` has one in flight."""
    token = _yielding_to.set(readers)
    try:
        yield
    finally:
        _yielding_to.reset(token)


async def in_turns(items: Sequence[Item], size: int) -> AsyncIterator[Sequence[Item]]:
    """`items` a chunk of `size` at a time, letting other tasks run before each later chunk."""
    for start in range(0, len(items), size):
        if start:
            readers = _yielding_to.get()
            await asyncio.sleep(READER_PAUSE if readers is not None and readers.in_flight else 0)
        yield items[start : start + size]


class Pace:
    """Hands the event loop back whenever `budget` seconds of work have gone by since it last
    did: for loops whose steps differ too much in cost to count them into chunks (one release
    of a long history against another)."""

    def __init__(self, budget: float = SLICE_SECONDS) -> None:
        self.budget = budget
        self.since = time.perf_counter()

    async def step(self) -> None:
        """Call between steps: lets other tasks run if this one has had the loop long enough."""
        if time.perf_counter() - self.since >= self.budget:
            readers = _yielding_to.get()
            await asyncio.sleep(READER_PAUSE if readers is not None and readers.in_flight else 0)
            self.since = time.perf_counter()


async def off_the_loop(work: Callable[Args, Result], *args: Args.args, **kw: Args.kwargs) -> Result:
    """`work` in a worker thread: pure Python too long for one turn of the event loop, with no
    natural steps to pace. The interpreter switches threads every few milliseconds, so the loop
    keeps serving other requests meanwhile."""
    return await asyncio.to_thread(work, *args, **kw)
