"""Webhook subscriptions of a township or a county: where to deliver alert changes, and the signing secret."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import AnyHttpUrl, BaseModel, Field
from redis.asyncio import Redis

_INDEX = "subscriptions"


class NewSubscription(BaseModel):
    """Body of `POST /subscriptions`: a county (6 digits) or township (9 digits) prefix."""

    region_prefix: str = Field(pattern=r"^\d{6}(\d{3})?$", examples=["532328101"])
    url: AnyHttpUrl
    secret: str = Field(
        min_length=16, max_length=256, description="the HMAC-SHA256 key of webhook-signature and X-Shouwang-Signature"
    )


class Subscription(BaseModel):
    """A stored subscription; the secret is never returned by the API."""

    id: str
    region_prefix: str
    url: str
    created_by: str
    created_at: datetime


class SubscriptionStore:
    """Subscriptions by id, with their secrets kept apart from what the API shows."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def create(self, new: NewSubscription, by: str) -> Subscription:
        """Store a subscription and return it."""
        sub = Subscription(
            id=str(uuid.uuid4()),
            region_prefix=new.region_prefix,
            url=str(new.url),
            created_by=by,
            created_at=datetime.now(UTC),
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"subscription:{sub.id}", mapping={"record": sub.model_dump_json(), "secret": new.secret})
            pipe.sadd(_INDEX, sub.id)
            await pipe.execute()
        return sub

    async def get(self, sub_id: str) -> tuple[Subscription, str] | None:
        """The subscription and its secret, or None."""
        record, secret = await self._redis.hmget(f"subscription:{sub_id}", ["record", "secret"])  # type: ignore[misc]
        if record is None:
            return None
        return Subscription.model_validate_json(record), str(secret)

    async def all(self) -> list[Subscription]:
        """Every subscription."""
        found = [await self.get(str(sub_id)) for sub_id in sorted(await self._redis.smembers(_INDEX))]  # type: ignore[misc]
        return [sub for sub, _ in filter(None, found)]

    async def delete(self, sub_id: str) -> bool:
        """Remove a subscription; False if there was none."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"subscription:{sub_id}")
            pipe.srem(_INDEX, sub_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)
