"""Hardening of every API request and response: security headers (CSP, X-Frame-Options, ...), strict JSON bodies,
and validation errors that name each field without echoing the input. Body sizes are limited by FastAPI itself
(`max_body_size`, settings `API_MAX_BODY_BYTES` and `API_AUTH_MAX_BODY_BYTES`, see app.py and accounts.py)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, HTTPException
from secure import (
    CacheControl,
    ContentSecurityPolicy,
    Preset,
    ReferrerPolicy,
    Secure,
    XContentTypeOptions,
    XFrameOptions,
)
from secure.middleware.asgi import SecureASGIMiddleware
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import errors

# The console is three static files and loads nothing from elsewhere: the strict preset (no inline script or style,
# no framing, no referrer, no caching). Only the OpenAPI pages, which FastAPI builds from a CDN with an inline
# script, get a policy that allows those.
CONSOLE = Secure.from_preset(Preset.STRICT)
DOCS = Secure(
    cache=CacheControl().no_store(),
    csp=ContentSecurityPolicy()
    .default_src("'self'")
    .script_src("'self'", "'unsafe-inline'", "https://cdn.jsdelivr.net")
    .style_src("'self'", "'unsafe-inline'", "https://cdn.jsdelivr.net", "https://fonts.googleapis.com")
    .font_src("https://fonts.gstatic.com")
    .img_src("'self'", "data:", "https://fastapi.tiangolo.com", "https://cdn.redoc.ly")
    .worker_src("blob:")
    .object_src("'none'")
    .base_uri("'none'")
    .frame_ancestors("'none'"),
    referrer=ReferrerPolicy().no_referrer(),
    xcto=XContentTypeOptions().nosniff(),
    xfo=XFrameOptions().deny(),
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


class SecurityHeaders:
    """Adds the security headers to every HTTP response: the OpenAPI pages' policy there, the strict one elsewhere."""

    def __init__(self, app: ASGIApp):
        self._strict = SecureASGIMiddleware(app, secure=CONSOLE)
        self._docs = SecureASGIMiddleware(app, secure=DOCS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self._docs if scope["type"] == "http" and scope["path"] in DOCS_PATHS else self._strict
        await chosen(scope, receive, send)  # type: ignore[arg-type]  # secure types `send` loosely


def _is_json(scope: Scope) -> bool:
    """True for the content types FastAPI parses as JSON: application/json and application/*+json."""
    kind = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def strict_json_error(body: bytes) -> dict[str, Any] | None:
    """The validation error of a body that is not strict JSON (NaN, Infinity, a number too large for a double, a
    lone surrogate, nesting deeper than 1,024), naming the position and why; None when it is strict JSON."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return {"type": "json_invalid", "loc": ["body", exc.pos], "msg": f"JSON decode error: {exc.msg}"}
    return None


class StrictJson:
    """Refuses a JSON request body that is not strict JSON with 422, before FastAPI parses it with Python's lenient
    parser (which accepts NaN and Infinity, then fails with a 500 on the way out). It reads along with the route,
    chunk by chunk, so the body limits still stop a large body first."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                body = b"".join(chunks) if not message.get("more_body", False) else b""
                if body and (error := strict_json_error(body)) is not None:
                    raise HTTPException(422, [error])  # FastAPI re-raises an HTTPException met reading the body
            return message

        await self.app(scope, checked, send)


def install(app: FastAPI) -> None:
    """Add the security headers and strict JSON to every request, and the one error shape (validation errors
    without the input) with every error documented."""
    app.add_middleware(StrictJson)
    app.add_middleware(SecurityHeaders)
    errors.install(app)
