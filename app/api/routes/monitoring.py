"""Prometheus metrics, for admin keys only: the counts name organisations (CONTRACT §2).

Prometheus sends the key with `authorization: {credentials: <key>}` in its scrape config."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.api.deps import MetricsReader, RuntimeDep
from app.api.prometheus import CONTENT_TYPE, MetricsDep
from app.services.hmpps import tally
from app.services.notifications import delivery

router = APIRouter(tags=["health"])


# Left out of the OpenAPI document: it is for the monitoring system, not for API clients.
@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(metrics: MetricsDep, rt: RuntimeDep, _: MetricsReader) -> Response:
    queue = await delivery.queue_stats(rt.db)
    domain_events = await tally.read(rt.db)
    return Response(metrics.exposition(rt.db, queue, domain_events), media_type=CONTENT_TYPE)
