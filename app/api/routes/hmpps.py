"""HMPPS domain events, posted as they are or as SNS delivers them (CONTRACT §8)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import BasicSubmitter, RuntimeDep, charge_identity_conflicts
from app.api.responses import JSON, problems
from app.schemas.api import DomainEventAnswer
from app.services.errors import ServiceError
from app.services.hmpps import intake

router = APIRouter(prefix="/v1/integrations/hmpps", tags=["hmpps"])

_BODY = {
    "requestBody": {
        "required": True,
        "description": "An HMPPS domain event, or an SNS message around one. SNS sends its "
        "messages as text/plain; any content type is read as JSON.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/events",
    response_model=DomainEventAnswer,
    openapi_extra=_BODY,
    responses=problems(
        "event-type-not-allowed",
        "validation-error",
        "malformed-json",
        "payload-too-large",
        "identity-conflict",
        "upstream-refused",
        "upstream-unavailable",
    ),
    summary="Take in an HMPPS domain event",
    description="The envelope itself, or an SNS `Notification` around it (signature verified); "
    "an SNS `SubscriptionConfirmation` is confirmed and an `UnsubscribeConfirmation` recorded "
    "(both answered `ignored`). The key may be a Bearer token or the password of HTTP Basic "
    "authentication. A licence activation whose licence cannot be read from CVL yet is kept "
    "and answered `pending`; it is stored once CVL answers. The key's `event_types` must allow "
    "what the domain event makes (`licence.activated` for a licence activation, checked before "
    "CVL is asked): else 403 `event-type-not-allowed`.",
)
async def post_domain_event(request: Request, caller: BasicSubmitter, rt: RuntimeDep) -> JSON:
    assert rt.hmpps is not None
    try:
        answer = await intake.receive(rt.hmpps, caller, await request.body())
    except ServiceError as refused:
        # As for any post: an identity conflict costs the key (CONTRACT §3.1).
        charge_identity_conflicts(rt, caller, int(refused.slug == "identity-conflict"))
        raise
    return JSON(answer.body())
