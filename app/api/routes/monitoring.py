"""Prometheus metrics, without a key, like the health checks."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.api.deps import RuntimeDep
from app.api.prometheus import CONTENT_TYPE, MetricsDep
from app.services.notifications import delivery

router = APIRouter(tags=["health"])


# Left out of the OpenAPI document: it is for the monitoring system, not for API clients.
@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(metrics: MetricsDep, rt: RuntimeDep) -> Response:
    queue = await delivery.queue_stats(rt.db)
    return Response(metrics.exposition(rt.db, queue), media_type=CONTENT_TYPE)
