"""What ingest's OpenAPI document says of `POST /events`: the CloudEvents envelope of each event type with its `data`
schema (structured and batch modes), binary mode's `ce-*` headers (an extension: OpenAPI cannot make headers depend on
the body's media type), and the answers: one event's outcome, the batch's 207 body, every error in the one shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from services.common.events import DATA_MODELS
from services.common.settings import IngestSettings
from services.ingest.bindings import BATCH, JSON, STRUCTURED

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # identifiers carry no control characters
EXAMPLE = {
    "specversion": "1.0",
    "id": "civil-2025-000123",
    "source": "/civil-affairs/532328",
    "type": "household.registered",
    "time": "2025-03-01T08:00:00+08:00",
    "datacontenttype": "application/json",
    "data": {"household_id": "H532328001", "region_code": "532328101001", "members": 4, "labourers": 2,
             "category": "poverty_exited", "annual_net_income": 9600},
}  # fmt: skip


class FieldProblem(BaseModel):
    """One offending field of an event (`data.members`, `time`, …) and why."""

    field: str
    reason: str


class EventOutcome(BaseModel):
    """What became of one event: accepted, duplicate (already accepted: no effect) or rejected, with each reason."""

    index: int = Field(description="its position in the request (0 for a single event)")
    id: str | None
    source: str | None
    status: str = Field(description="accepted, duplicate or rejected")
    errors: list[FieldProblem] = Field(default_factory=list, description="a rejected event's fields and why")
    note: str | None = None


class RejectedEvent(EventOutcome):
    """A single event refused (403: outside the key's grant; 422: invalid), in the one error shape besides."""

    detail: str = Field(description="the errors in one sentence")
    title: str


class BatchAnswer(BaseModel):
    """The 207 answer of a batch: each event's outcome in order, and how many of each."""

    results: list[EventOutcome]
    accepted: int
    duplicate: int
    rejected: int


def envelope(event_type: str) -> dict[str, Any]:
    """The JSON schema of a structured CloudEvent of one type, its `data` by reference."""
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "additionalProperties": False,
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": NO_CONTROL,
                   "description": "unique per source"},
            "source": {"type": "string", "pattern": r"^/[^\s\x00-\x1f\x7f]*$", "maxLength": 512,
                       "description": "the upstream system: a URI reference your key's prefix covers"},
            "type": {"const": event_type},
            "time": {"type": "string", "format": "date-time",
                     "description": "RFC 3339; not before EVENT_TIME_EARLIEST, not in the future"},
            "subject": {"type": "string", "description": "if present, equals data.household_id"},
            "datacontenttype": {"const": "application/json"},
            "data": {"$ref": f"#/components/schemas/{DATA_MODELS[event_type].__name__}"},
        },
    }  # fmt: skip


def request_body(settings: IngestSettings) -> dict[str, Any]:
    """The requestBody of `POST /events`: a structured event, or a batch of them."""
    one = {"oneOf": [{"$ref": f"#/components/schemas/CloudEvent_{t.replace('.', '_')}"} for t in DATA_MODELS],
           "discriminator": {"propertyName": "type"}}  # fmt: skip
    return {
        "required": True,
        "content": {
            STRUCTURED: {"schema": one, "example": EXAMPLE},
            BATCH: {"schema": {"type": "array", "items": one, "maxItems": settings.max_batch_events},
                    "example": [EXAMPLE]},
        },
    }  # fmt: skip


BINARY_MODE = {
    "content_type": JSON,
    "body": "the event's data object (the schema of its type)",
    "headers": {"ce-specversion": "1.0", "ce-id": "unique per source", "ce-source": "the upstream system",
                "ce-type": "one of the event types", "ce-time": "RFC 3339"},
    "example": {"headers": {"ce-specversion": "1.0", "ce-id": "civil-2025-000123", "ce-source": "/civil-affairs/532328",
                            "ce-type": "household.registered", "ce-time": "2025-03-01T08:00:00+08:00"},
                "body": EXAMPLE["data"]},
}  # fmt: skip


def add_envelopes(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with each event type's envelope and `data` schema among its components."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for event_type, model in DATA_MODELS.items():
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(found.pop("$defs", {}))
        components[model.__name__] = found
        components[f"CloudEvent_{event_type.replace('.', '_')}"] = envelope(event_type)
    return schema
