"""Long CPU-bound loops hand the event loop back between chunks.

A worker serves many requests on one event loop. Parsing, deciding and deriving a 1,000-event
batch are tens of milliseconds of pure Python each; done in one go, every handover view and
gap-list page that arrives meanwhile waits behind them. Done a chunk at a time, with a yield to
the loop between chunks, the reads take their turn and the batch takes barely longer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")


async def in_turns(items: Sequence[Item], size: int) -> AsyncIterator[Sequence[Item]]:
    """`items` a chunk of `size` at a time, letting other tasks run before each later chunk."""
    for start in range(0, len(items), size):
        if start:
            await asyncio.sleep(0)
        yield items[start : start + size]
