"""Login throttling: each attempt is counted before its password is checked, atomically, per username and per
client address; too many failures lock the username, or make the address wait, for a while."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS: the client's failures, the username's failures, the username's lock.
# ARGV: the client's allowance, the username's allowance, the window in seconds.
# Answers {verdict, n}: "locked" (n = seconds left), "client" (n = seconds until the address may try again),
# "busy" (n = 1: the username's allowance is taken by attempts still being checked; one of them may yet lock it),
# or "go" (n = this attempt's number).
_ADMIT = """
local locked = redis.call('TTL', KEYS[3])
if locked > 0 then return {'locked', locked} end
local client = redis.call('INCR', KEYS[1])
if client == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if client > tonumber(ARGV[1]) then return {'client', redis.call('TTL', KEYS[1])} end
local user = redis.call('INCR', KEYS[2])
if user == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if user > tonumber(ARGV[2]) then return {'busy', 1} end
return {'go', user}
"""
# Take back one counted attempt from each key that still holds one (a success, or a check that never ran).
_REFUND = """
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n > 0 then redis.call('DECR', key) end
end
"""


@dataclass(frozen=True)
class Admission:
    """The throttle's answer to one login attempt: go ahead (`attempt` of the window), or wait `seconds`."""

    verdict: str
    seconds: int = 0
    attempt: int = 0


class LoginThrottle:
    """`max_failures` failed logins of a username within `window` lock it for `lockout` seconds; `client_failures`
    failed logins from one address within the window make that address wait for the rest of it."""

    def __init__(
        self, redis: Redis, max_failures: int, client_failures: int, window_seconds: float, lockout_seconds: float
    ):
        self._redis = redis
        self._max = max_failures
        self._client_max = client_failures
        self._window = max(1, int(window_seconds))
        self._lockout = max(1, int(lockout_seconds))
        self._admit = redis.register_script(_ADMIT)
        self._refund = redis.register_script(_REFUND)

    async def admit(self, client: str, username: str) -> Admission:
        """Count this attempt before its check; say whether the check may run."""
        keys = [f"login:client:{client}", f"login:failures:{username}", f"login:locked:{username}"]
        verdict, number = await self._admit(keys=keys, args=[self._client_max, self._max, self._window])
        verdict = verdict.decode() if isinstance(verdict, bytes) else str(verdict)
        if verdict == "go":
            return Admission("go", attempt=int(number))
        return Admission(verdict, seconds=max(1, int(number)))

    async def failed(self, username: str, attempt: int) -> int:
        """The attempt's password was wrong: the seconds of the lock it caused (0: not locked yet)."""
        if attempt < self._max:
            return 0
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"login:locked:{username}", "1", ex=self._lockout)
            pipe.delete(f"login:failures:{username}")
            await pipe.execute()
        return self._lockout

    async def succeeded(self, client: str, username: str) -> None:
        """A good login: forget the username's failures and take back the address's count of this attempt."""
        await self._redis.delete(f"login:failures:{username}", f"login:locked:{username}")
        await self._refund(keys=[f"login:client:{client}"])

    async def not_checked(self, client: str, username: str) -> None:
        """The attempt was admitted but its password never checked (the server was busy): take back its counts."""
        await self._refund(keys=[f"login:client:{client}", f"login:failures:{username}"])

    async def clear(self, username: str) -> None:
        """Forget the username's failures and lift any lock (after a password reset)."""
        await self._redis.delete(f"login:failures:{username}", f"login:locked:{username}")
