"""Turn one raw CloudEvent (dict) into a validated, pseudonymised HouseholdEvent or field errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from pydantic import ValidationError

from services.common.events import DATA_MODELS, Envelope, EventData, HouseholdEvent
from services.common.identity import PSEUDONYM_PREFIX, pseudonymise
from services.ingest.screening import EventWindow, normalised, text_problems

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


def _parse_exactly(body: bytes) -> Any:
    """The standard library's reading, for its precise messages and for numbers beyond a double's range."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise UnparseableBody("body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise UnparseableBody(f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise UnparseableBody("body is nested too deeply") from exc
    except ValueError as exc:  # an integer of thousands of digits
        raise UnparseableBody(f"body holds a number that cannot be read: {str(exc)[:80]}") from exc
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        raise UnparseableBody("body is not Unicode text: it escapes a lone surrogate (\\ud800-\\udfff)") from exc
    return value


def parse_json(body: bytes, max_depth: int | None = None) -> Any:
    """Parse strict JSON: UTF-8, no NaN or Infinity, no lone surrogates, nested at most `max_depth` deep."""
    try:
        value = msgspec.json.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        value = _parse_exactly(body)
    if max_depth is not None and not within_depth(value, max_depth):
        raise UnparseableBody(f"body is nested deeper than {max_depth} levels")
    return value


def within_depth(value: Any, limit: int) -> bool:
    """True when no array or object in `value` lies more than `limit` levels deep."""
    level: list[Any] = [value]
    for _ in range(limit):
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                deeper.extend(item.values())
            elif isinstance(item, list):
                deeper.extend(item)
        level = [item for item in deeper if isinstance(item, dict | list)]
        if not level:
            return True
    return False


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


def _sent_pseudonyms(data: EventData) -> list[FieldError]:
    """The models also read pseudonyms (canonical events); at the edge a person is given by the number only."""
    fields = data.__dict__  # the model's field values (getattr of a field a type lacks is slow in pydantic)
    named = [(name, fields.get(name)) for name in _PERSON_FIELDS]
    named += [(f"member_ids.{n}", member) for n, member in enumerate(fields.get("member_ids") or [])]
    return [
        FieldError(f"data.{name}", "must be a resident ID number (18 characters), not a pseudonym")
        for name, value in named
        if isinstance(value, str) and value.startswith(PSEUDONYM_PREFIX)
    ]


def _pseudonymised(data: EventData, key: bytes) -> EventData:
    fields = data.__dict__
    update: dict[str, Any] = {
        name: pseudonymise(fields[name], key) for name in _PERSON_FIELDS if fields.get(name) is not None
    }
    member_ids = fields.get("member_ids")
    if member_ids is not None:
        update["member_ids"] = [pseudonymise(member, key) for member in member_ids]
    return data.model_copy(update=update) if update else data


def validate_event(
    raw: Any, pseudonym_key: bytes, now: datetime | None = None, window: EventWindow | None = None
) -> HouseholdEvent:
    """Validate a CloudEvent against the v1 contract and the edge rules; pseudonymise its resident IDs.

    Identifiers are taken in NFKC form; `window`, when given, bounds the event's times around `now`.
    """
    if isinstance(raw, msgspec.Raw):  # one event's JSON text, as the bindings hand it on
        raw = parse_json(bytes(raw))
    if not isinstance(raw, dict):
        raise InvalidEvent([FieldError("(event)", "must be a JSON object")])
    raw = normalised(raw)
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
    if data:
        errors.extend(_sent_pseudonyms(data))
    now = now or datetime.now(UTC)
    problems = text_problems(raw)
    if window is not None and envelope and data:
        problems = {**window.problems(envelope.time, data, now), **problems}
    named = {error.field for error in errors}
    errors.extend(FieldError(name, reason) for name, reason in problems.items() if name not in named)
    if errors or envelope is None or data is None:
        raise InvalidEvent(errors or [FieldError("(event)", "invalid")])
    return HouseholdEvent(
        id=envelope.id,
        source=envelope.source,
        type=envelope.type,
        time=envelope.time,
        data=_pseudonymised(data, pseudonym_key),
        accepted_at=now,
    )


def source_allowed(source: str, prefix: str) -> bool:
    """True when `source` lies under `prefix` at a path-segment boundary."""
    base = prefix.rstrip("/")
    return source == base or source.startswith(base + "/") or base == ""
