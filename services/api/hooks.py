"""Routes for webhook subscriptions of a township or county, and their delivery log (admins)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query

from services.alerts.subscriptions import Subscription
from services.alerts.targets import UnsafeTarget, resolve
from services.alerts.webhooks import log_key
from services.api.dependencies import Audit, RedisClient, Services, Subscriptions
from services.api.permissions import Admin, Caller, Manager
from services.api.scoped import (
    AdministeredSubscription,
    ManagedSubscription,
    NewScopedSubscription,
    SubscriptionsInJurisdiction,
)

router = APIRouter(tags=["subscriptions"])


async def _audit(audit: Audit, user: Caller, action: str, sub: Subscription) -> None:
    """Who subscribed or unsubscribed which region, and to which host."""
    host = urlsplit(sub.url).hostname or ""
    await audit.record(user.username, action, f"subscription:{sub.id}", region=sub.region_prefix, host=host)


@router.post("/subscriptions", response_model=Subscription, status_code=201, summary="Subscribe a URL to alerts")
async def subscribe(
    new: NewScopedSubscription, user: Manager, subs: Subscriptions, audit: Audit, services: Services
) -> Subscription:
    """Deliver every change of alerts under a county or township prefix, signed with the secret.

    The URL must resolve to public addresses only (422 naming `url` otherwise), unless its host is in
    `WEBHOOK_ALLOWED_HOSTS`; deliveries check the address again each time.
    """
    try:
        await resolve(str(new.url), services.webhook_hosts)
    except UnsafeTarget as exc:
        raise HTTPException(422, [{"loc": ["body", "url"], "msg": str(exc), "type": "unsafe_url"}]) from exc
    created = await subs.create(new, user.username)
    await _audit(audit, user, "subscription.created", created)
    return created


@router.get("/subscriptions", response_model=list[Subscription], summary="Subscriptions in your jurisdiction")
async def list_subscriptions(user: Manager, found: SubscriptionsInJurisdiction) -> list[Subscription]:
    """Every subscription whose prefix lies inside your jurisdiction (secrets are never shown)."""
    return found


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="Unsubscribe")
async def unsubscribe(found: ManagedSubscription, user: Manager, subs: Subscriptions, audit: Audit) -> None:
    """Stop deliveries to the subscription."""
    await subs.delete(found.id)
    await _audit(audit, user, "subscription.deleted", found)


@router.get("/subscriptions/{sub_id}/deliveries", summary="Delivery log of a subscription in your jurisdiction (admin)")
async def deliveries(
    found: AdministeredSubscription, admin: Admin, redis: RedisClient, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The latest delivery attempts, newest first: outcome delivered, failed (retried later) or gave_up."""
    entries: Any = await redis.xrevrange(log_key(found.id), count=limit)
    return [{"id": entry_id, **fields} for entry_id, fields in entries]
