"""Routes for webhook subscriptions of a township or county, and their delivery log (admins)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from redis.asyncio import Redis

from services.alerts.subscriptions import NewSubscription, Subscription, SubscriptionStore
from services.alerts.targets import UnsafeTarget, resolve
from services.alerts.webhooks import log_key
from services.api.audit import AuditTrail
from services.api.permissions import Admin, Caller, Manager

router = APIRouter(tags=["subscriptions"])


def _subs(request: Request) -> SubscriptionStore:
    subs: SubscriptionStore = request.app.state.subscriptions
    return subs


Subs = Annotated[SubscriptionStore, Depends(_subs)]


async def _in_jurisdiction(subs: SubscriptionStore, sub_id: str, user: Caller) -> Subscription:
    """The subscription: 404 if unknown, 403 if its region lies outside the caller's jurisdiction."""
    found = await subs.find(sub_id)
    if found is None:
        raise HTTPException(404, f"no subscription {sub_id}")
    user.require(found.region_prefix, "this subscription")
    return found


async def _audit(request: Request, user: Caller, action: str, sub: Subscription) -> None:
    """Who subscribed or unsubscribed which region, and to which host."""
    audit: AuditTrail = request.app.state.audit
    host = urlsplit(sub.url).hostname or ""
    await audit.record(user.username, action, f"subscription:{sub.id}", region=sub.region_prefix, host=host)


@router.post("/subscriptions", response_model=Subscription, status_code=201, summary="Subscribe a URL to alerts")
async def subscribe(request: Request, new: NewSubscription, user: Manager, subs: Subs) -> Subscription:
    """Deliver every change of alerts under a county or township prefix, signed with the secret.

    The URL must resolve to public addresses only (422 naming `url` otherwise), unless its host is in
    `WEBHOOK_ALLOWED_HOSTS`; deliveries check the address again each time.
    """
    user.require(new.region_prefix, f"region {new.region_prefix}")
    try:
        await resolve(str(new.url), request.app.state.webhook_allowed_hosts)
    except UnsafeTarget as exc:
        raise HTTPException(422, [{"loc": ["body", "url"], "msg": str(exc), "type": "unsafe_url"}]) from exc
    created = await subs.create(new, user.username)
    await _audit(request, user, "subscription.created", created)
    return created


@router.get("/subscriptions", response_model=list[Subscription], summary="Subscriptions in your jurisdiction")
async def list_subscriptions(user: Manager, subs: Subs) -> list[Subscription]:
    """Every subscription whose prefix lies inside your jurisdiction (secrets are never shown)."""
    return [sub for sub in await subs.all() if user.covers(sub.region_prefix)]


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="Unsubscribe")
async def unsubscribe(request: Request, sub_id: str, user: Manager, subs: Subs) -> None:
    """Stop deliveries to the subscription."""
    found = await _in_jurisdiction(subs, sub_id, user)
    await subs.delete(sub_id)
    await _audit(request, user, "subscription.deleted", found)


@router.get("/subscriptions/{sub_id}/deliveries", summary="Delivery log of a subscription in your jurisdiction (admin)")
async def deliveries(
    sub_id: str, request: Request, admin: Admin, subs: Subs, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The latest delivery attempts, newest first: outcome delivered, failed (retried later) or gave_up."""
    await _in_jurisdiction(subs, sub_id, admin)
    redis: Redis = request.app.state.redis
    entries: Any = await redis.xrevrange(log_key(sub_id), count=limit)
    return [{"id": entry_id, **fields} for entry_id, fields in entries]
