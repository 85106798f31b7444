"""Failed-login throttling: too many failures within a window lock the username for a while."""

from __future__ import annotations

from redis.asyncio import Redis


class LoginThrottle:
    """Counts failed logins per username in Redis; `max_failures` within `window` locks for `lockout` seconds."""

    def __init__(self, redis: Redis, max_failures: int, window_seconds: float, lockout_seconds: float):
        self._redis = redis
        self._max = max_failures
        self._window = max(1, int(window_seconds))
        self._lockout = max(1, int(lockout_seconds))

    async def locked_for(self, username: str) -> int:
        """Seconds the username stays locked (0: not locked)."""
        return max(0, int(await self._redis.ttl(f"login:locked:{username}")))

    async def failed(self, username: str) -> int:
        """Count one failure; the seconds of the lock it caused (0: not locked yet)."""
        key = f"login:failures:{username}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._window, nx=True)
            count, _ = await pipe.execute()
        if int(count) < self._max:
            return 0
        await self._redis.set(f"login:locked:{username}", "1", ex=self._lockout)
        await self._redis.delete(key)
        return self._lockout

    async def clear(self, username: str) -> None:
        """Forget the failures and lift any lock (after a good login or a password reset)."""
        await self._redis.delete(f"login:failures:{username}", f"login:locked:{username}")
