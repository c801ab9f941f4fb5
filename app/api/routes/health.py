"""Liveness and readiness, without a key."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RuntimeDep
from app.api.responses import JSON, problems

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> JSON:
    return JSON({"status": "ok"})


@router.get(
    "/readyz",
    summary="The process can reach its database",
    responses=problems("service-unavailable"),
)
async def readyz(rt: RuntimeDep) -> JSON:
    await rt.db.ping()
    return JSON({"status": "ready", "database": rt.db.dialect})
