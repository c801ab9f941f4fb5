"""Chunked loops give other tasks on the event loop a turn between chunks, and pause while a read
is in flight in work done `yielding_to` the readers (batches)."""

from __future__ import annotations

import asyncio
import itertools
from contextlib import nullcontext

import pytest

from app.tuning.turns import Readers, in_turns, yielding_to


async def _chunks_and_interleaving(
    items: list[int], size: int
) -> tuple[list[list[int]], list[str]]:
    seen: list[str] = []
    chunks: list[list[int]] = []

    async def other() -> None:
        for _ in range(len(items)):
            seen.append("other")
            await asyncio.sleep(0)

    async def chunked() -> None:
        async for chunk in in_turns(items, size):
            seen.append("chunk")
            chunks.append(list(chunk))

    await asyncio.gather(chunked(), other())
    return chunks, seen


def test_every_item_comes_once_in_order_in_chunks_of_the_size() -> None:
    chunks, _ = asyncio.run(_chunks_and_interleaving(list(range(10)), 4))
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_other_tasks_run_between_chunks() -> None:
    _, seen = asyncio.run(_chunks_and_interleaving(list(range(6)), 2))
    # The first chunk runs at once; another task runs before each of the later ones.
    first = seen.index("chunk")
    later = [i for i, what in enumerate(seen) if what == "chunk"][1:]
    assert later and all(seen[i - 1] == "other" for i in later)
    assert first == 0


def test_nothing_to_do_yields_nothing() -> None:
    chunks, _ = asyncio.run(_chunks_and_interleaving([], 3))
    assert chunks == []


def _steps_between_chunks(readers: Readers, *, yielding: bool) -> list[int]:
    """How many steps another task takes between each two chunks of `in_turns`."""

    async def run() -> list[int]:
        steps = 0
        done = False

        async def other() -> None:
            nonlocal steps
            while not done:
                steps += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        seen = []
        with yielding_to(readers) if yielding else nullcontext():
            async for _ in in_turns(range(4), 1):
                seen.append(steps)
        done = True
        await task
        return [later - earlier for earlier, later in itertools.pairwise(seen)]

    return asyncio.run(run())


def test_work_yielding_to_readers_pauses_while_one_is_in_flight() -> None:
    readers = Readers()
    with readers.serving():
        between = _steps_between_chunks(readers, yielding=True)
    # The other task ran again and again while the chunks waited, not once.
    assert all(steps > 1 for steps in between), between


@pytest.mark.parametrize("reading, yielding", [(False, True), (True, False)])
def test_with_no_read_in_flight_or_in_other_work_a_chunk_only_yields(
    reading: bool, yielding: bool
) -> None:
    readers = Readers()
    with readers.serving() if reading else nullcontext():
        between = _steps_between_chunks(readers, yielding=yielding)
    assert between == [1, 1, 1]


def test_a_read_counts_as_in_flight_until_it_ends_however_it_ends() -> None:
    readers = Readers()
    with readers.serving(), readers.serving():
        assert readers.in_flight == 2
    with pytest.raises(RuntimeError), readers.serving():
        raise RuntimeError("refused")
    assert readers.in_flight == 0
