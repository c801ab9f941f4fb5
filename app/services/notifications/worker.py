"""The worker: delivers webhooks and runs the periodic jobs, in the server process
(`JOINUP_INLINE_WORKER=1`, the default) or as `joinup worker`.

Any number of workers may run against one database: matching, claiming and the sweep each take
row locks that another worker skips, so every change is delivered once per subscription.

Other parts of joinup add their own periodic work as a `Job` (a name, how often, and a coroutine
function taking the database) in the `jobs` given to `Worker`; a job that fails is logged and
tried again at its next turn. A job should be quick or chunk its work: deliveries wait while it
runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

import httpx

from app.db import deliveries
from app.db.engine import Database
from app.services import clock
from app.services.notifications import delivery, sweep, webhooks

log = logging.getLogger("joinup.worker")
# How long a worker rests after an error it could not handle (the database away, say).
PAUSE_AFTER_ERROR: Final = 5.0
# Attempts, and delivered deliveries, are kept this long.
KEPT: Final = timedelta(days=30)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[Database], Awaitable[object]]


async def _prune(db: Database) -> None:
    async with db.write() as conn:
        await deliveries.prune(conn, clock.now() - KEPT)


def standard_jobs(sweep_seconds: float) -> list[Job]:
    """Finding time-driven changes (at start and every `sweep_seconds`), forgetting old attempts."""
    return [
        Job("time-driven changes", sweep_seconds, sweep.sweep),
        Job("forget old delivery attempts", 3600.0, _prune),
    ]


@dataclass
class Worker:
    db: Database
    how: delivery.Delivering
    jobs: Sequence[Job] = ()
    poll_seconds: float = 0.5
    _next_run: dict[str, float] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set."""
        async with webhooks.client() as http:
            while not stop.is_set():
                try:
                    busy = await self.step(http)
                except Exception:
                    log.exception("the worker's step failed; it tries again shortly")
                    busy, rest = False, PAUSE_AFTER_ERROR
                else:
                    rest = self.poll_seconds
                if not busy:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), rest)

    async def step(self, http: httpx.AsyncClient) -> bool:
        """One round: due jobs, matching, one claim of deliveries; whether there was work."""
        await self._due_jobs()
        matched = await delivery.match(self.db)
        sent = await delivery.deliver(self.db, http, self.how)
        return matched or sent > 0

    async def _due_jobs(self) -> None:
        now = time.monotonic()
        for job in self.jobs:
            if self._next_run.get(job.name, 0.0) > now:
                continue
            self._next_run[job.name] = now + job.every_seconds
            try:
                await job.run(self.db)
            except Exception:
                log.exception("periodic job failed", extra={"job": job.name})


def start(worker: Worker) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Run `worker` as a task of the running loop; set the event to stop it."""
    stop = asyncio.Event()
    return asyncio.create_task(worker.run(stop)), stop
