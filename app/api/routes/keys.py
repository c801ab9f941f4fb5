"""Managing API keys (CONTRACT §2)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from app.api.body import documented_body, model_body
from app.api.deps import Admin, ReadConn, WriteConn
from app.api.responses import JSON, problems
from app.schemas.keys import EventTypesUpdate, KeyCreate, KeyCreated, KeyRead, ScopeUpdate
from app.services import keys

router = APIRouter(prefix="/v1/keys", tags=["keys"])
NewKey = Annotated[KeyCreate, Depends(model_body(KeyCreate))]
NewScope = Annotated[ScopeUpdate, Depends(model_body(ScopeUpdate))]
NewTypes = Annotated[EventTypesUpdate, Depends(model_body(EventTypesUpdate))]

_SCOPE_RULES = (
    "A scope limits what the key reads to releases, and the people behind them, in the "
    "prisons, probation regions, local authorities and/or community providers it lists: in "
    "every dimension given, the release's value must be one of those listed (AND across "
    "dimensions, OR within one; prisons compare upper-cased; a release with no value in a "
    "limited dimension is out of scope). Every read is scoped: handover views, timelines, gap "
    "lists, CSV and metrics. An empty list is refused (422): leave the dimension out instead. "
    "A key without a scope sees everything its roles allow. Scope matters only for reading "
    "roles, but any key may carry one."
)
_TYPES_RULES = (
    " A key with the submitter role needs `event_types`, the event types it may post, correct "
    "and retract (422 without them); posting any other type is 403 event-type-not-allowed."
)
_SCOPED_ADMINS = (
    " An admin key that is itself scoped manages only keys whose scope lies within its own: "
    "it cannot make an unscoped key or one reaching beyond its scope (403), and keys outside "
    "its scope do not exist for it (404)."
)


@router.post(
    "",
    status_code=201,
    response_model=KeyCreated,
    openapi_extra=documented_body(KeyCreate),
    responses=problems("validation-error", "forbidden"),
    summary="Create a key; its secret is shown once, in this answer",
    description="`scope` is optional. " + _SCOPE_RULES + _TYPES_RULES + _SCOPED_ADMINS,
)
async def create_key(caller: Admin, body: NewKey, conn: WriteConn) -> JSON:
    scope = body.scope.to_scope() if body.scope else None
    issued = await keys.create(
        conn,
        body.org,
        list(body.roles),
        body.label,
        scope=scope,
        by=caller,
        event_types=body.event_types,
    )
    return JSON(asdict(issued), 201)


@router.get(
    "",
    response_model=list[KeyRead],
    responses=problems(),
    summary="List active keys, with each key's scope (null when unscoped) and event types",
    description="A scoped admin sees only the keys within its own scope.",
)
async def list_keys(caller: Admin, conn: ReadConn) -> JSON:
    return JSON(await keys.listing(conn, caller))


_EVERYWHERE = (
    "It applies from the key's very next request, on every process and machine serving the "
    "database: no process remembers a key it has checked."
)


@router.put(
    "/{key_id}/scope",
    response_model=KeyRead,
    openapi_extra=documented_body(ScopeUpdate),
    responses=problems("not-found", "validation-error", "forbidden"),
    summary="Replace a key's scope, or unscope it with null",
    description="The body is the whole new scope (it replaces the old one), or `null`. "
    + _SCOPE_RULES
    + _SCOPED_ADMINS
    + " "
    + _EVERYWHERE,
)
async def set_scope(key_id: str, caller: Admin, body: NewScope, conn: WriteConn) -> JSON:
    scope = body.root.to_scope() if body.root else None
    return JSON(await keys.set_scope(conn, caller, key_id, scope))


@router.put(
    "/{key_id}/event_types",
    response_model=KeyRead,
    openapi_extra=documented_body(EventTypesUpdate),
    responses=problems("not-found", "validation-error"),
    summary="Replace the event types a submitter key may post",
    description="The body is the whole new list (not empty). 422 for a key without the "
    "submitter role." + _TYPES_RULES + _SCOPED_ADMINS + " " + _EVERYWHERE,
)
async def set_event_types(key_id: str, caller: Admin, body: NewTypes, conn: WriteConn) -> JSON:
    return JSON(await keys.set_event_types(conn, caller, key_id, body.root))


@router.delete(
    "/{key_id}",
    status_code=204,
    responses=problems("not-found"),
    summary="Revoke a key",
    description="The key stops working." + _SCOPED_ADMINS + " " + _EVERYWHERE,
)
async def revoke_key(key_id: str, caller: Admin, conn: WriteConn) -> Response:
    await keys.revoke(conn, caller, key_id)
    return Response(status_code=204)
