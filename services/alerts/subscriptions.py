"""Webhook subscriptions of a township or a county: where to deliver alert changes, and the signing secret, kept
encrypted (Fernet) with a key derived from WEBHOOK_SECRET_KEY (secrets stored before it was set are read as is)."""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from pydantic import AnyHttpUrl, BaseModel, Field
from redis.asyncio import Redis

_INDEX = "subscriptions"
_SEALED = "fernet:"
log = logging.getLogger(__name__)


class SecretBox:
    """Seals webhook secrets for Redis and opens them for signing; without a key, secrets are kept as they are."""

    def __init__(self, key: str | None):
        digest = hashlib.sha256(key.encode()).digest() if key else None
        self._fernet = Fernet(base64.urlsafe_b64encode(digest)) if digest else None
        if self._fernet is None:
            log.warning("WEBHOOK_SECRET_KEY is not set: webhook secrets are stored in clear")

    def seal(self, secret: str) -> str:
        """What Redis keeps of the secret."""
        return _SEALED + self._fernet.encrypt(secret.encode()).decode() if self._fernet else secret

    def open(self, stored: str) -> str:
        """The secret from what Redis keeps (ValueError when it is sealed and this box has no key)."""
        if not stored.startswith(_SEALED):
            return stored
        if self._fernet is None:
            raise ValueError("a webhook secret is sealed: set WEBHOOK_SECRET_KEY to deliver")
        return self._fernet.decrypt(stored.removeprefix(_SEALED).encode()).decode()


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

    def __init__(self, redis: Redis, box: SecretBox | None = None):
        self._redis = redis
        self._box = box or SecretBox(None)

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
            sealed = self._box.seal(new.secret)
            pipe.hset(f"subscription:{sub.id}", mapping={"record": sub.model_dump_json(), "secret": sealed})
            pipe.sadd(_INDEX, sub.id)
            await pipe.execute()
        return sub

    async def get(self, sub_id: str) -> tuple[Subscription, str] | None:
        """The subscription and its secret, or None."""
        record, secret = await self._redis.hmget(f"subscription:{sub_id}", ["record", "secret"])  # type: ignore[misc]
        if record is None:
            return None
        return Subscription.model_validate_json(record), self._box.open(str(secret))

    async def find(self, sub_id: str) -> Subscription | None:
        """The subscription without its secret, or None."""
        record = await self._redis.hget(f"subscription:{sub_id}", "record")  # type: ignore[misc]
        return None if record is None else Subscription.model_validate_json(record)

    async def all(self) -> list[Subscription]:
        """Every subscription (without secrets)."""
        found = [await self.find(str(sub_id)) for sub_id in sorted(await self._redis.smembers(_INDEX))]  # type: ignore[misc]
        return [sub for sub in found if sub is not None]

    async def delete(self, sub_id: str) -> bool:
        """Remove a subscription; False if there was none."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"subscription:{sub_id}")
            pipe.srem(_INDEX, sub_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)
