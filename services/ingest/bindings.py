"""CloudEvents protocol bindings: HTTP (structured, binary, batch) and Kafka (binary, structured)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.ingest.validation import UnparseableBody, parse_json

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
JSON = "application/json"


class UnsupportedMediaType(ValueError):
    """The content type is none of the CloudEvents modes ingest speaks."""


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _binary(attributes: Iterable[tuple[str, str]], prefix: str, body: bytes) -> dict[str, Any]:
    event: dict[str, Any] = {name[len(prefix) :]: value for name, value in attributes if name.startswith(prefix)}
    event["data"] = parse_json(body) if body else None
    return event


def from_http(content_type: str | None, headers: Mapping[str, str], body: bytes) -> tuple[list[Any], bool]:
    """Return the raw events in an HTTP request and whether it was a batch."""
    kind = media_type(content_type)
    if kind == BATCH:
        events = parse_json(body)
        if not isinstance(events, list):
            raise UnparseableBody("a batch must be a JSON array of events")
        return events, True
    if kind == STRUCTURED:
        return [parse_json(body)], False
    if kind == JSON:
        lowered = ((name.lower(), value) for name, value in headers.items())
        event = _binary(lowered, "ce-", body)
        event["datacontenttype"] = JSON
        return [event], False
    raise UnsupportedMediaType(
        f"content type {kind or '(none)'!r} is not accepted: use {STRUCTURED}, {BATCH}, "
        f"or {JSON} with ce-* headers (binary mode)"
    )


def from_kafka(headers: Iterable[tuple[str, bytes]], value: bytes | None) -> Any:
    """Return the raw event in a Kafka message (binary `ce_*` headers, else structured)."""
    decoded = [(name.lower(), raw.decode("utf-8", "replace")) for name, raw in headers or ()]
    if any(name.startswith("ce_") for name, _ in decoded):
        event = _binary(decoded, "ce_", value or b"")
        event["datacontenttype"] = JSON
        return event
    return parse_json(value or b"")
