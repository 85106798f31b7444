"""Guard for file uploads (`POST /imports`): the key is checked before a byte of the body is read, and the body is
capped by Starlette's RequestBodyLimitMiddleware (413, on the declared length or while a chunked body streams), so
nothing unauthorised or oversized is written to disk."""

from __future__ import annotations

import json
from collections.abc import Collection

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


def bearer_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, if any."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            return key if scheme.lower() == "bearer" else None
    return None


class UploadGuard:
    """ASGI middleware for POST requests to `path`: 401 without a known key, 413 past `limit` bytes."""

    def __init__(self, app: ASGIApp, path: str, keys: Collection[str], limit: int):
        self._app = app
        self._limited = RequestBodyLimitMiddleware(app, max_body_size=limit)
        self._path = path
        self._keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != self._path:
            await self._app(scope, receive, send)
            return
        if bearer_key(scope["headers"]) not in self._keys:
            body = json.dumps({"detail": "missing or unknown ingest key (Authorization: Bearer <key>)"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self._limited(scope, receive, send)
