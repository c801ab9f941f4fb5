"""Group commit's queue (app/tuning/groups.py): what one transaction takes."""

from __future__ import annotations

import asyncio

import pytest

from app.tuning import GATHER_TURNS
from app.tuning.groups import Groups


async def _on_its_way(groups: Groups[int, int], item: int, awaits: int) -> int:
    """An item queued after `awaits` turns of the event loop, as a request's item is queued
    after its dependencies and its parsing have awaited."""
    for _ in range(awaits):
        await asyncio.sleep(0)
    return await groups.submit("org", item)


@pytest.mark.parametrize(
    ("gather", "taken"), [(GATHER_TURNS, [[0, 1, 2]]), (0, [[0], [1], [2]])], ids=["gather", "not"]
)
def test_items_on_their_way_when_a_group_is_taken_join_it(
    gather: int, taken: list[list[int]]
) -> None:
    groups_taken: list[list[int]] = []

    async def commit(items: list[int]) -> list[int]:
        groups_taken.append(items)
        return [10 * item for item in items]

    async def scenario() -> list[int]:
        groups: Groups[int, int] = Groups(commit, most=100, gather=gather)
        return list(await asyncio.gather(*(_on_its_way(groups, n, n) for n in range(3))))

    assert asyncio.run(scenario()) == [0, 10, 20]
    assert groups_taken == taken
