"""CloudEvents protocol bindings: HTTP (structured, binary, batch) and Kafka (binary, structured).

Events in structured or batch form are handed on as their JSON text (msgspec.Raw) so the compiled fast path can
read them directly; binary-mode events are assembled from their headers into a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from services.ingest.validation import UnparseableBody, parse_json

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
JSON = "application/json"
_BATCH_DECODER = msgspec.json.Decoder(list[msgspec.Raw])


class UnsupportedMediaType(ValueError):
    """The content type is none of the CloudEvents modes ingest speaks."""


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _binary(attributes: Iterable[tuple[str, str]], prefix: str, body: bytes, max_depth: int) -> dict[str, Any]:
    event: dict[str, Any] = {name[len(prefix) :]: value for name, value in attributes if name.startswith(prefix)}
    event["data"] = parse_json(body, max_depth) if body else None
    return event


def _structured(body: bytes, max_depth: int) -> Any:
    """One event's JSON: checked here (400 when unreadable), read again by the fast or the reference path."""
    event = parse_json(body, max_depth)
    return msgspec.Raw(body) if isinstance(event, dict) else event


def _batch(body: bytes, max_depth: int) -> list[Any]:
    try:
        return list(_BATCH_DECODER.decode(body))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        events = parse_json(body, max_depth + 1)  # the standard library's reading names what is wrong
    if not isinstance(events, list):
        raise UnparseableBody("a batch must be a JSON array of events")
    return events


def from_http(
    content_type: str | None, headers: Mapping[str, str], body: bytes, max_depth: int
) -> tuple[list[Any], bool]:
    """Return the raw events in an HTTP request and whether it was a batch."""
    kind = media_type(content_type)
    if kind == BATCH:
        return _batch(body, max_depth), True
    if kind == STRUCTURED:
        return [_structured(body, max_depth)], False
    if kind == JSON:
        lowered = ((name.lower(), value) for name, value in headers.items())
        event = _binary(lowered, "ce-", body, max_depth)
        event["datacontenttype"] = JSON
        return [event], False
    raise UnsupportedMediaType(
        f"content type {kind or '(none)'!r} is not accepted: use {STRUCTURED}, {BATCH}, "
        f"or {JSON} with ce-* headers (binary mode)"
    )


def from_kafka(headers: Iterable[tuple[str, bytes]], value: bytes | None, max_depth: int) -> Any:
    """Return the raw event in a Kafka message (binary `ce_*` headers, else structured)."""
    decoded = [(name.lower(), raw.decode("utf-8", "replace")) for name, raw in headers or ()]
    if any(name.startswith("ce_") for name, _ in decoded):
        event = _binary(decoded, "ce_", value or b"", max_depth)
        event["datacontenttype"] = JSON
        return event
    return _structured(value or b"", max_depth)
