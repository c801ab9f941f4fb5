"""Managing API keys (CONTRACT §2)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from app.api.body import documented_body, model_body
from app.api.deps import Admin, ReadConn, WriteConn
from app.api.responses import JSON, problems
from app.api.schemas import KeyCreate, KeyCreated, KeyRead
from app.services import keys

router = APIRouter(prefix="/v1/keys", tags=["keys"])
NewKey = Annotated[KeyCreate, Depends(model_body(KeyCreate))]


@router.post(
    "",
    status_code=201,
    response_model=KeyCreated,
    openapi_extra=documented_body(KeyCreate),
    responses=problems("validation-error"),
    summary="Create a key; its secret is shown once, in this answer",
)
async def create_key(caller: Admin, body: NewKey, conn: WriteConn) -> JSON:
    issued = await keys.create(conn, body.org, list(body.roles), body.label)
    return JSON(asdict(issued), 201)


@router.get("", response_model=list[KeyRead], responses=problems(), summary="List active keys")
async def list_keys(caller: Admin, conn: ReadConn) -> JSON:
    return JSON(await keys.listing(conn))


@router.delete(
    "/{key_id}",
    status_code=204,
    responses=problems("not-found"),
    summary="Revoke a key; it stops working at once",
)
async def revoke_key(key_id: str, caller: Admin, conn: WriteConn) -> Response:
    await keys.revoke(conn, key_id)
    return Response(status_code=204)
