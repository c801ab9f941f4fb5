"""Webhook subscriptions (CONTRACT §7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from app.api.body import documented_body, model_body
from app.api.deps import ReadConn, RuntimeDep, Subscriber, SubscriptionManager, WriteConn
from app.api.responses import JSON, problems
from app.schemas.notifications import (
    DeliveryAttempt,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    filter_of,
)
from app.services.notifications import subscriptions
from app.services.notifications.subscriptions import NewSubscription

router = APIRouter(prefix="/v1/subscriptions", tags=["notifications"])
NewBody = Annotated[SubscriptionCreate, Depends(model_body(SubscriptionCreate))]

_DELIVERY = (
    "Each change is POSTed to `url` as JSON with the Standard Webhooks headers `webhook-id` "
    "(the change id, the same on every retry), `webhook-timestamp` and `webhook-signature`. "
    "A 2xx answer within 10 s acknowledges it; anything else is retried with growing delays "
    "(the first within 30 s) for 3 days, after which the subscription is `disabled` and its "
    "changes wait for `POST .../enable`. A person's changes arrive in order. The key's scope "
    "narrows every subscription it makes. See docs/notifications.md."
)
_MANAGED = (
    "The caller's organisation's subscriptions; an admin sees and manages every one made within "
    "its scope (every one, when unscoped)."
)


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionCreated,
    openapi_extra=documented_body(SubscriptionCreate),
    responses=problems("validation-error"),
    summary="Subscribe a URL to changes; the signing secret is shown once, in this answer",
    description=_DELIVERY,
)
async def create(caller: Subscriber, body: NewBody, conn: WriteConn, rt: RuntimeDep) -> JSON:
    assert rt.secrets is not None
    new = NewSubscription(body.url, body.types or [], filter_of(body))
    allow = rt.settings.webhook_allow_insecure
    made = await subscriptions.create(conn, caller, new, rt.secrets, allow_insecure=allow)
    return JSON(made, 201)


@router.get(
    "",
    response_model=list[SubscriptionRead],
    responses=problems(),
    summary="List subscriptions, without secrets",
    description=_MANAGED,
)
async def list_subscriptions(caller: SubscriptionManager, conn: ReadConn) -> JSON:
    return JSON(await subscriptions.listing(conn, caller))


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionRead,
    responses=problems("not-found"),
    summary="One subscription, with its status and the last delivery's outcome",
    description=_MANAGED,
)
async def read(subscription_id: str, caller: SubscriptionManager, conn: ReadConn) -> JSON:
    return JSON(await subscriptions.read(conn, caller, subscription_id))


@router.delete(
    "/{subscription_id}",
    status_code=204,
    responses=problems("not-found"),
    summary="Delete a subscription; nothing more is sent to it",
    description=_MANAGED,
)
async def delete(subscription_id: str, caller: SubscriptionManager, conn: WriteConn) -> Response:
    await subscriptions.remove(conn, caller, subscription_id)
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=list[DeliveryAttempt],
    responses=problems("not-found"),
    summary="The latest delivery attempts, newest first",
    description=_MANAGED,
)
async def deliveries(subscription_id: str, caller: SubscriptionManager, conn: ReadConn) -> JSON:
    return JSON(await subscriptions.deliveries(conn, caller, subscription_id))


@router.post(
    "/{subscription_id}/enable",
    response_model=SubscriptionRead,
    responses=problems("not-found", "conflict"),
    summary="Deliver again to a disabled subscription, from its first undelivered change",
    description=f"{_MANAGED} A subscription that is not disabled is answered as it is, its "
    "retries untouched. One whose key was revoked cannot be enabled (409): subscribe again "
    "with an active key.",
)
async def enable(subscription_id: str, caller: SubscriptionManager, conn: WriteConn) -> JSON:
    return JSON(await subscriptions.enable(conn, caller, subscription_id))
