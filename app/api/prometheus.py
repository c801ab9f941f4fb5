"""Prometheus metrics: requests, posted events, ingest time, the database pools, and what the
database counts for every process (webhook deliveries, HMPPS domain events).

Each app has a registry of its own, so that the tests can build many apps in one process. With
several uvicorn workers each process counts for itself; when `PROMETHEUS_MULTIPROC_DIR` names a
directory, prometheus_client keeps every process's counters in files there and `/metrics` (in any
worker) adds them up. The pool gauges are read when scraped, from the process that answers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from app.services import ingest
from app.services.ingest import submissions
from app.services.notifications.delivery import QueueStats
from app.services.storage import Database

CONTENT_TYPE = CONTENT_TYPE_LATEST
_HTTP_LABELS = ("method", "route", "status")
# A batch of 1,000 events with its re-derivation takes seconds, so the buckets reach further
# than the HTTP defaults.
_INGEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# How late the event loop's own timer fires: anything past 50 ms kept every request waiting.
_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# How often the lag is sampled: a stall shows as at least its length less this.
LAG_INTERVAL = 0.02
_POOL_GAUGES = {
    "size": "Connections the pool keeps open",
    "checked_out": "Connections in use now",
    "overflow": "Connections open beyond the pool's size",
}


class Metrics:
    """The service's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "joinup_http_requests",
            "HTTP requests answered, by route template",
            _HTTP_LABELS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "joinup_http_request_duration_seconds",
            "Time to answer an HTTP request",
            _HTTP_LABELS,
            registry=self.registry,
        )
        self.events = Counter(
            "joinup_events",
            "Posted events by outcome: accepted, duplicate or rejected",
            ("org", "type", "status"),
            registry=self.registry,
        )
        self.ingest = Histogram(
            "joinup_ingest_duration_seconds",
            "Time to store a post or a retraction, re-derivation of the records included",
            ("operation",),
            buckets=_INGEST_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "joinup_event_loop_lag_seconds",
            "How late a timer of the process's event loop fired: while work holds the loop, "
            "no request in the process is served",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self.loop_hold = Histogram(
            "joinup_event_loop_busy_seconds",
            "How long work in the process held the event loop, at most: the event loop's lag, "
            "but no more than the CPU time its thread spent meanwhile (a loaded machine may "
            "leave the process without a core; that is lag, not work)",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        # The labelled children by (method, route, status), a few dozen: `labels()` checks and
        # locks on every call, and every request counts.
        self._answered: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._answered.get((method, route, status))
        if children is None:
            labels = (method, route, str(status))
            children = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._answered[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_events(
        self, org: str, items: Sequence[submissions.Submission], outcome: ingest.Outcome
    ) -> None:
        types = {item.index: item.event.type if item.event else "invalid" for item in items}
        tally: dict[tuple[str, str], int] = {}
        for result in outcome.results:
            key = (types[result.index], result.status)
            tally[key] = tally.get(key, 0) + 1
        for (type_, status), count in tally.items():
            self.events.labels(org, type_, status).inc(count)

    @contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.ingest.labels(operation).observe(time.perf_counter() - started)

    async def watch_the_loop(self, interval: float = LAG_INTERVAL) -> None:
        """Sample the event loop's lag for ever: sleep `interval`, see how much later it woke."""
        loop = asyncio.get_running_loop()
        while True:
            started, busy = loop.time(), time.thread_time()
            await asyncio.sleep(interval)
            lag = max(0.0, loop.time() - started - interval)
            self.loop_lag.observe(lag)
            # At most: none of the thread's CPU time since it slept can have held the loop for
            # longer than the timer was late.
            self.loop_hold.observe(min(lag, time.thread_time() - busy))

    def exposition(
        self,
        db: Database,
        queue: QueueStats | None = None,
        domain_events: Mapping[tuple[str, str], int] | None = None,
    ) -> bytes:
        """A scrape's text: the counters (every worker's, in multiprocess mode), the pools, and
        the webhook queue and HMPPS domain events (read from the database, so the same whichever
        process answers, and counting the consumer's and `joinup worker`'s too)."""
        scrape = CollectorRegistry()
        scrape.register(self._counters())
        scrape.register(_Pools(db))
        if queue is not None:
            scrape.register(_Queue(queue))
        if domain_events is not None:
            scrape.register(_DomainEvents(domain_events))
        return _generate_latest(scrape)

    def _counters(self) -> Collector:
        # prometheus_client chose its storage from this variable when it was imported; follow it.
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return MultiProcessCollector(None)  # type: ignore[no-untyped-call]  # untyped upstream
        return self.registry


class _Pools:
    """The connections of this process's database pools, read at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[Metric]:
        families = {
            field: GaugeMetricFamily(f"joinup_db_pool_{field}", help_text, labels=["pool"])
            for field, help_text in _POOL_GAUGES.items()
        }
        for pool, status in self.db.pool_status().items():
            for field, family in families.items():
                family.add_metric([pool], getattr(status, field))
        return families.values()


class _Queue:
    """Webhook deliveries, from the database: every worker's, in every process."""

    def __init__(self, queue: QueueStats) -> None:
        self.queue = queue

    def collect(self) -> Iterable[Metric]:
        q = self.queue
        attempts = CounterMetricFamily(
            "joinup_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered (acknowledged) or failed, to every "
            "subscription there has been (deleted ones too)",
            labels=["outcome"],
        )
        attempts.add_metric(["delivered"], q.delivered)
        attempts.add_metric(["failed"], q.failed)
        depth = GaugeMetricFamily(
            "joinup_webhook_queue_depth",
            "Changes owed to subscriptions and not yet delivered: deliveries queued, and changes "
            "not yet matched against a subscription's filter",
        )
        depth.add_metric([], q.queued)
        age = GaugeMetricFamily(
            "joinup_webhook_oldest_undelivered_age_seconds",
            "Age of the oldest change owed to a subscription (queued or not yet matched) and not "
            "yet delivered",
        )
        age.add_metric([], q.oldest_age_seconds)
        disabled = GaugeMetricFamily(
            "joinup_webhook_subscriptions_disabled",
            "Subscriptions that deliver nothing: disabled after 3 days failing, or their key "
            "revoked",
        )
        disabled.add_metric([], q.disabled)
        return [attempts, depth, age, disabled]


class _DomainEvents:
    """HMPPS domain events by type and outcome, from the database (app/services/hmpps/tally.py)."""

    def __init__(self, counts: Mapping[tuple[str, str], int]) -> None:
        self.counts = counts

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "joinup_hmpps_domain_events",
            "HMPPS domain events by eventType and outcome: accepted, duplicate, ignored, "
            "pending, refused",
            labels=["type", "outcome"],
        )
        for (event_type, outcome), total in sorted(self.counts.items()):
            family.add_metric([event_type, outcome], total)
        return [family]


# A coroutine, so that FastAPI does not run it in the thread pool (see app/api/deps.runtime).
async def metrics(request: Request) -> Metrics:
    value: Metrics = request.app.state.metrics
    return value


MetricsDep = Annotated[Metrics, Depends(metrics)]
