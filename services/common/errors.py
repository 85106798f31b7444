"""One error shape for every failed request of both HTTP services, and an OpenAPI document that lists every answer.

Every error body is `{"detail": …, "status": 404, "title": "Not Found"}`: v1's `detail` (a sentence, a list of
{loc, msg, type} per offending field, or an object naming what is wrong), with RFC 9457's `status` and `title`
added. Each operation's document lists the errors it can answer: 401 and 403 where a credential is required, 404
where the path names a resource, 422 where it takes parameters or a body, 413 where it takes a body, and those its
route declares with `responses=errors(…)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WORDS = {
    400: "the request cannot be read (unparseable body or headers)",
    401: "no valid credential: sign in (Authorization: Bearer <token or key>)",
    403: "the credential may not do this here (role, region or source outside its grant)",
    404: "no such resource inside your jurisdiction",
    405: "the path does not take this method (`Allow` lists those it takes)",
    409: "the resource changed or the move is not allowed now (the detail says which)",
    412: "If-Match names an older version than the stored one",
    413: "the body is larger than this route takes",
    415: "the body's content type is not one this route takes",
    422: "a parameter, header or body field is invalid (each named, with why)",
    429: "too many requests of this kind for now (Retry-After says when to try again)",
    503: "a dependency (Kafka, Redis, the workers) cannot take it now: try again",
}


class FieldError(BaseModel):
    """One offending field: where (`loc`), why (`msg`) and the kind of error (`type`)."""

    type: str
    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    """Every error answer of the API and ingest (RFC 9457's `status` and `title` beside v1's `detail`)."""

    detail: str | list[FieldError] | dict[str, Any] = Field(description="what is wrong: a sentence, or per field")
    status: int = Field(description="the HTTP status, repeated")
    title: str = Field(description="the status in words, e.g. Not Found")


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each offending field and why, without the input (which may be 100 MB, or a password)."""
    found = []
    for error in exc.errors():
        message = error["msg"]
        if error["type"] == "json_invalid" and "error" in error.get("ctx", {}):
            message = f"{message}: {error['ctx']['error']}"
        found.append({"type": error["type"], "loc": list(error["loc"]), "msg": message})
    return found


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of these error statuses, all with the one error shape."""
    return {code: {"model": ErrorBody, "description": WORDS.get(code, HTTPStatus(code).phrase)} for code in codes}


def body(status: int, detail: Any) -> dict[str, Any]:
    """The error body of a status."""
    return {"detail": detail, "status": status, "title": HTTPStatus(status).phrase}


def allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    """Every method some route of the app takes on this request's path (for a 405's `Allow`)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"}) if hasattr(route, "matches") else (Match.NONE, {})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


class PlainErrorsAsJson:
    """Rewrites a plain-text error the framework answers by itself (e.g. a body over the size limit: 413 "Content
    Too Large") into the one error shape, so that every error of the service is JSON."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything through but a text/plain answer of 400 or more, which becomes the JSON error body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}

        async def rewriting(message: Message) -> None:
            if message["type"] == "http.response.start":
                kind = Headers(raw=message.get("headers", [])).get("content-type", "")
                if message["status"] >= 400 and kind.startswith("text/plain"):
                    held["start"], held["text"] = message, b""
                    return
            elif "start" in held and message["type"] == "http.response.body":
                held["text"] += message.get("body", b"")
                if message.get("more_body", False):
                    return
                status = held["start"]["status"]
                encoded = json.dumps(body(status, held["text"].decode("utf-8", "replace").strip())).encode()
                headers = [(k, v) for k, v in held["start"].get("headers", [])
                           if k.lower() not in (b"content-type", b"content-length")]  # fmt: skip
                headers += [(b"content-type", b"application/json"), (b"content-length", str(len(encoded)).encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": encoded})
                return
            await send(message)

        await self.app(scope, receive, rewriting)


def install(
    app: FastAPI,
    on_validation: Callable[[RequestValidationError], Any] = field_errors,
    extend: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """Answer every HTTP error and every invalid request with the one shape (`on_validation` makes the 422 detail)."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, dict(request.scope)))
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=headers)
        return JSONResponse(body(exc.status_code, exc.detail), status_code=exc.status_code, headers=headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(body(422, on_validation(exc)), status_code=422)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    stack = app.build_middleware_stack  # outermost, so that the framework's own answers (413, 500) pass through it
    app.build_middleware_stack = lambda: PlainErrorsAsJson(stack())  # type: ignore[method-assign]
    app.openapi = lambda: documented(app, extend)  # type: ignore[method-assign]


def documented(app: FastAPI, extend: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The app's OpenAPI document with every error answer listed, each with the one error shape (built once;
    `extend` adds what the routes cannot declare themselves)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
    if extend is not None:
        schema = extend(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorBody"] = error_schema
    for operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            _absent_not_null(parameter)
        responses = operation.setdefault("responses", {})
        for code in sorted(set(_implied(operation)) - {int(c) for c in responses if c.isdigit()}):
            responses[str(code)] = _error_entry(code)
        for code, entry in responses.items():
            if code.isdigit() and int(code) >= 400 and "x-own-body" not in entry:
                entry["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                entry.setdefault("description", WORDS.get(int(code), HTTPStatus(int(code)).phrase))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema


def _operations(schema: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete", "options", "head"):
                yield operation


def _absent_not_null(parameter: dict[str, Any]) -> None:
    """An optional query, header or path parameter is left out, never sent as null: document only its values."""
    choices = parameter.get("schema", {}).get("anyOf")
    if parameter.get("required") or not choices:
        return
    kept = [choice for choice in choices if choice.get("type") != "null"]
    if len(kept) == 1 and len(kept) < len(choices):
        schema = parameter["schema"]
        schema.pop("anyOf")
        schema.update(kept[0])


def _implied(operation: dict[str, Any]) -> list[int]:
    """The errors an operation's shape implies: credentials, a path naming a resource, parameters, a body."""
    codes = []
    if operation.get("security"):
        codes += [401, 403]
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        codes.append(404)
    if parameters or operation.get("requestBody"):
        codes.append(422)
    if operation.get("requestBody"):
        codes += [400, 413]  # an unparseable body (e.g. multipart without its parts); a body too large
    return codes


def _error_entry(code: int) -> dict[str, Any]:
    return {"description": WORDS.get(code, HTTPStatus(code).phrase),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}  # fmt: skip
