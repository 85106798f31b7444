"""Guard for file uploads (`POST /imports`): the key is checked before a byte of the body is read, and the body is
capped (413) whether its length is declared or it arrives in chunks, so nothing unauthorised or oversized is
written to disk."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(Exception):
    """The body grew past the limit while it was being read."""


def bearer_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, if any."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            return key if scheme.lower() == "bearer" else None
    return None


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class UploadGuard:
    """ASGI middleware for POST requests to `path`: 401 without a known key, 413 past `limit` bytes."""

    def __init__(self, app: ASGIApp, path: str, keys: Collection[str], limit: int):
        self._app = app
        self._path = path
        self._keys = keys
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != self._path:
            await self._app(scope, receive, send)
            return
        headers = scope["headers"]
        if bearer_key(headers) not in self._keys:
            await _answer(send, 401, "missing or unknown ingest key (Authorization: Bearer <key>)")
            return
        too_large = f"an upload holds at most {self._limit} bytes (IMPORT_MAX_BODY_BYTES)"
        declared = next((value for name, value in headers if name.lower() == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self._limit:
            await _answer(send, 413, too_large)
            return
        received, overflowed, started = 0, False, False

        async def counted_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            received += len(message.get("body", b""))
            if received > self._limit:
                overflowed = True
                raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if overflowed:  # the app answered its failed read of the body: answer 413 instead
                if not started:
                    started = True
                    await _answer(send, 413, too_large)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted_receive, guarded_send)
        except _TooLarge:
            if not started:
                await _answer(send, 413, too_large)
