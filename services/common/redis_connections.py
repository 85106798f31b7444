"""Redis clients of the services: a bounded, blocking pool, and optionally hiredis packing of commands."""

from __future__ import annotations

from typing import Any, cast

import hiredis
from redis.asyncio import BlockingConnectionPool, Connection, Redis

_PACKED_AS_IS = frozenset({bytes, str, int})  # types hiredis packs as redis-py's encoder would (not bool)


class HiredisPackedConnection(Connection):
    """A connection packing commands with hiredis (C), as redis-py's synchronous client does: a command with a
    thousand keys costs microseconds to pack instead of a millisecond. Same encoding rules as redis-py's."""

    def pack_command(self, *args: Any) -> list[bytes]:
        """Pack a command (the first argument may hold several words, as in redis-py)."""
        first, rest = args[0], args[1:]
        words = tuple(first.encode().split() if isinstance(first, str) else bytes(first).split())
        if not set(map(type, rest)) <= _PACKED_AS_IS:  # the common case (keys and numbers) checked in C
            plain, encode = (bytes, str, int), self.encoder.encode
            rest = tuple(a if isinstance(a, plain) and not isinstance(a, bool) else encode(a) for a in rest)
        return [hiredis.pack_command(cast(Any, words + rest))]  # its stub allows one argument only


def redis_client(
    url: str, *, decode_responses: bool = False, max_connections: int = 64, hiredis_packing: bool = False
) -> Redis:
    """A Redis client whose pool waits for a free connection instead of opening hundreds under load."""
    extra: dict[str, Any] = {"connection_class": HiredisPackedConnection} if hiredis_packing else {}
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=30, decode_responses=decode_responses, **extra
    )
    return Redis(connection_pool=pool)
