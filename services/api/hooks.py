"""Routes for webhook subscriptions of a township or county, and their delivery log (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from redis.asyncio import Redis

from services.alerts.subscriptions import NewSubscription, Subscription, SubscriptionStore
from services.alerts.targets import UnsafeTarget, resolve
from services.alerts.webhooks import log_key
from services.api.auth import RequireRole
from services.api.users import User

router = APIRouter(tags=["subscriptions"])
Manager = Annotated[User, Depends(RequireRole("admin", "county_supervisor"))]
AdminUser = Annotated[User, Depends(RequireRole("admin"))]


def _subs(request: Request) -> SubscriptionStore:
    subs: SubscriptionStore = request.app.state.subscriptions
    return subs


Subs = Annotated[SubscriptionStore, Depends(_subs)]


@router.post("/subscriptions", response_model=Subscription, status_code=201, summary="Subscribe a URL to alerts")
async def subscribe(request: Request, new: NewSubscription, user: Manager, subs: Subs) -> Subscription:
    """Deliver every change of alerts under a county or township prefix, signed with the secret.

    The URL must resolve to public addresses only (422 naming `url` otherwise), unless its host is in
    `WEBHOOK_ALLOWED_HOSTS`; deliveries check the address again each time.
    """
    if not new.region_prefix.startswith(user.region_code):
        raise HTTPException(403, "this region is outside your jurisdiction")
    try:
        await resolve(str(new.url), request.app.state.webhook_allowed_hosts)
    except UnsafeTarget as exc:
        raise HTTPException(422, [{"loc": ["body", "url"], "msg": str(exc), "type": "unsafe_url"}]) from exc
    return await subs.create(new, user.username)


@router.get("/subscriptions", response_model=list[Subscription], summary="Subscriptions in your jurisdiction")
async def list_subscriptions(user: Manager, subs: Subs) -> list[Subscription]:
    """Every subscription whose prefix lies inside your jurisdiction (secrets are never shown)."""
    return [sub for sub in await subs.all() if sub.region_prefix.startswith(user.region_code)]


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="Unsubscribe")
async def unsubscribe(sub_id: str, user: Manager, subs: Subs) -> None:
    """Stop deliveries to the subscription."""
    found = await subs.get(sub_id)
    if found is None:
        raise HTTPException(404, f"no subscription {sub_id}")
    if not found[0].region_prefix.startswith(user.region_code):
        raise HTTPException(403, "this subscription is outside your jurisdiction")
    await subs.delete(sub_id)


@router.get("/subscriptions/{sub_id}/deliveries", summary="Delivery log of a subscription (admin)")
async def deliveries(
    sub_id: str, request: Request, _: AdminUser, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The latest delivery attempts, newest first: outcome delivered, failed (retried later) or gave_up."""
    redis: Redis = request.app.state.redis
    entries: Any = await redis.xrevrange(log_key(sub_id), count=limit)
    return [{"id": entry_id, **fields} for entry_id, fields in entries]
