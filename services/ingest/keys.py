"""Ingest keys: `Authorization: Bearer <key>` names the source prefix a caller may publish under."""

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request


def source_prefix_of(keys: dict[str, str]) -> Callable[[Request], Awaitable[str]]:
    """A FastAPI dependency returning the caller's allowed source prefix (401 without a known key)."""

    async def source_prefix(request: Request) -> str:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key not in keys:
            raise HTTPException(401, "missing or unknown ingest key (Authorization: Bearer <key>)")
        request.state.ingest_key = key
        return keys[key]

    return source_prefix
