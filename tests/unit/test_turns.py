"""Chunked loops give other tasks on the event loop a turn between chunks."""

from __future__ import annotations

import asyncio

from app.services.turns import in_turns


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
