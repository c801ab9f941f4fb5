"""Bare FastAPI endpoints validating a body like an event's, with no database: the framework's
own ceiling on this machine, served with the same uvicorn settings as joinup."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str
    type: str
    occurred_on: date
    nomis: str
    crn: str | None = None
    nhs: str | None = None
    pnc: str | None = None
    prison: str
    release_type: str
    local_authority: str | None = None
    probation_region: str | None = None
    community_provider: str | None = None


app = FastAPI()


@app.post("/def", status_code=201)
def post_sync(body: Body) -> dict[str, str]:
    return {"event_id": body.event_id, "status": "accepted"}


@app.post("/async", status_code=201)
async def post_async(body: Body) -> dict[str, str]:
    return {"event_id": body.event_id, "status": "accepted"}
