"""Access tokens (JWT) and refresh tokens; the dependencies that identify the caller are in dependencies.py."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import HTTPException
from redis.asyncio import Redis

from services.api.users import User

_BEARER = {"WWW-Authenticate": "Bearer"}


class TokenIssuer:
    """Signs and checks short-lived HS256 access tokens."""

    def __init__(self, secret: str, minutes: int):
        self._secret = secret
        self._lifetime = timedelta(minutes=minutes)

    @property
    def lifetime_seconds(self) -> int:
        """How long an access token lives."""
        return int(self._lifetime.total_seconds())

    def issue(self, user: User, epoch: str) -> str:
        """A token naming the user and their account's epoch; role and jurisdiction are re-read per request."""
        now = datetime.now(UTC)
        claims = {"sub": user.username, "gen": epoch, "iat": now, "exp": now + self._lifetime, "typ": "access"}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def claims(self, token: str) -> tuple[str, str]:
        """The username and account epoch in a valid access token; raises 401 otherwise."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as exc:
            raise HTTPException(401, f"invalid token: {exc}", headers=_BEARER) from exc
        if claims.get("typ") != "access":
            raise HTTPException(401, "not an access token", headers=_BEARER)
        return str(claims["sub"]), str(claims.get("gen", 0))


# KEYS: the token's live key, its used key. ARGV: how long a used token is remembered. A live token is consumed
# (remembered as used); a used one is reported so; else nothing.
_REDEEM = """
local live = redis.call('GET', KEYS[1])
if live then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], live, 'EX', ARGV[1])
  return {'fresh', live}
end
local used = redis.call('GET', KEYS[2])
if used then return {'reused', used} end
return false
"""


@dataclass(frozen=True)
class Redeemed:
    """A refresh token presented: whose, at which epoch, of which chain, and whether it had been used already."""

    username: str
    epoch: str
    family: str
    reused: bool


class RefreshTokens:
    """Opaque single-use refresh tokens in Redis (only their SHA-256 is stored), revocable per user; each names the
    account's epoch when it was issued, so that it dies with the account's earlier tokens, and its family: the chain
    of tokens one login started. A used token presented again ends its whole family (OAuth 2.0 Security BCP: one of
    the two who hold it is not its owner)."""

    def __init__(self, redis: Redis, hours: float):
        self._redis = redis
        self._ttl = max(1, int(hours * 3600))
        self._redeem = redis.register_script(_REDEEM)

    @staticmethod
    def _key(token: str) -> str:
        return "refresh:" + hashlib.sha256(token.encode()).hexdigest()

    async def issue(self, username: str, epoch: str, family: str | None = None) -> str:
        """A new refresh token for the user at the account's current epoch, in `family` (None: a new one)."""
        token, family = secrets.token_urlsafe(32), family or secrets.token_hex(16)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(token), f"{username}:{epoch}:{family}", ex=self._ttl)
            pipe.sadd(f"refresh:user:{username}", self._key(token))
            pipe.expire(f"refresh:user:{username}", self._ttl)
            pipe.sadd(f"refresh:family:{family}", self._key(token))
            pipe.expire(f"refresh:family:{family}", self._ttl)
            await pipe.execute()
        return token

    async def redeem(self, token: str) -> Redeemed | None:
        """Consume the token (it works once); a token used before ends its family. None if unknown."""
        key = self._key(token)
        found = await self._redeem(keys=[key, "refresh:used:" + key.removeprefix("refresh:")], args=[self._ttl])
        if not found:
            return None
        state, value = (part.decode() if isinstance(part, bytes) else str(part) for part in found)
        username, _, rest = value.partition(":")
        epoch, _, family = rest.partition(":")
        redeemed = Redeemed(username, epoch, family, state == "reused")
        if redeemed.reused:
            await self.revoke_family(family)
        else:
            await self._redis.srem(f"refresh:user:{username}", key)
        return redeemed

    async def revoke_family(self, family: str) -> None:
        """End every refresh token of one chain (tokens issued before families were kept have none)."""
        if family:
            keys = [str(k) for k in await self._redis.smembers(f"refresh:family:{family}")]  # type: ignore[misc]
            await self._redis.delete(f"refresh:family:{family}", *keys)

    async def revoke_all(self, username: str) -> None:
        """End every refresh token of the user."""
        keys = [str(k) for k in await self._redis.smembers(f"refresh:user:{username}")]  # type: ignore[misc]
        await self._redis.delete(f"refresh:user:{username}", *keys)
