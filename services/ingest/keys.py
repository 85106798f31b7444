"""Ingest keys: `Authorization: Bearer <key>` names what a caller may publish (sources, and maybe regions)."""

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from services.common.grants import IngestGrant

_UNKNOWN = "missing or unknown ingest key (Authorization: Bearer <key>)"


def grant_of(grants: dict[str, IngestGrant]) -> Callable[[Request], Awaitable[IngestGrant]]:
    """A FastAPI dependency returning what the caller's key may write (401 without a known key)."""

    async def grant(request: Request) -> IngestGrant:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key not in grants:
            raise HTTPException(401, _UNKNOWN)
        request.state.ingest_key = key
        return grants[key]

    return grant
