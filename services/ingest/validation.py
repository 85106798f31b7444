"""Turn one raw CloudEvent (dict) into a validated, pseudonymised HouseholdEvent or field errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.common.events import DATA_MODELS, Envelope, EventData, HouseholdEvent
from services.common.identity import pseudonymise

_PERSON_FIELDS = ("head_id", "member_id")


@dataclass(frozen=True)
class FieldError:
    """One reason an event was refused, naming the offending field."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """JSON form used in HTTP responses and dead letters."""
        return {"field": self.field, "reason": self.reason}


class InvalidEvent(ValueError):
    """The event breaks the v1 contract; `errors` names every offending field."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))
        self.errors = errors


class UnparseableBody(ValueError):
    """The request body is not JSON (or uses NaN/Infinity, which JSON does not allow)."""


def _refuse_constant(name: str) -> Any:
    raise UnparseableBody(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    """Parse strict JSON: UTF-8, no NaN or Infinity."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise UnparseableBody("body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise UnparseableBody(f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def _reason(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field: not part of the v1 contract"
    if error["type"] == "missing":
        return "required"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    errors = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        errors.append(FieldError(prefix + path if path else prefix.rstrip(".") or "(event)", _reason(error)))
    return errors


def _validate_data(event_type: Any, data: Any) -> tuple[EventData | None, list[FieldError]]:
    model = DATA_MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        return None, []  # the envelope error on `type` already says why
    if not isinstance(data, dict):
        return None, [FieldError("data", "must be a JSON object")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _field_errors(exc, "data.")


def _pseudonymised(data: EventData, key: bytes) -> EventData:
    fields = data.__dict__  # the model's field values (getattr of a field a type lacks is slow in pydantic)
    update: dict[str, Any] = {
        name: pseudonymise(fields[name], key) for name in _PERSON_FIELDS if fields.get(name) is not None
    }
    member_ids = fields.get("member_ids")
    if member_ids is not None:
        update["member_ids"] = [pseudonymise(member, key) for member in member_ids]
    return data.model_copy(update=update) if update else data


def validate_event(raw: Any, pseudonym_key: bytes, now: datetime | None = None) -> HouseholdEvent:
    """Validate a CloudEvent against the v1 contract and pseudonymise its resident IDs."""
    if not isinstance(raw, dict):
        raise InvalidEvent([FieldError("(event)", "must be a JSON object")])
    errors: list[FieldError] = []
    envelope: Envelope | None = None
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        errors.extend(error for error in _field_errors(exc) if not error.field.startswith("data."))
    data, data_errors = _validate_data(raw.get("type"), raw.get("data"))
    errors.extend(data_errors)
    if envelope and data and envelope.subject is not None and envelope.subject != data.household_id:
        errors.append(FieldError("subject", "must equal data.household_id"))
    if errors or envelope is None or data is None:
        raise InvalidEvent(errors or [FieldError("(event)", "invalid")])
    return HouseholdEvent(
        id=envelope.id,
        source=envelope.source,
        type=envelope.type,
        time=envelope.time,
        data=_pseudonymised(data, pseudonym_key),
        accepted_at=now or datetime.now(UTC),
    )


def source_allowed(source: str, prefix: str) -> bool:
    """True when `source` lies under `prefix` at a path-segment boundary."""
    base = prefix.rstrip("/")
    return source == base or source.startswith(base + "/") or base == ""
