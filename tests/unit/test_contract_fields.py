"""Each message has one schema in services/common/ (the contract); the msgspec structs of the fast paths carry its
fields exactly: the same names in the same order, the same JSON types, the same defaults, the same words."""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

import msgspec
import pydantic
import pytest

from services.common import events, score_records, scores
from services.ingest import fastpath
from services.scoring import facts

# The contract's model of each score struct (scoring writes them, alerts read them).
SCORE_MODELS: dict[type, type[pydantic.BaseModel]] = {
    score_records.ScoreRecord: scores.Score,
    score_records.ReasonRecord: scores.Reason,
    score_records.FiguresRecord: scores.Figures,
    score_records.MonitoringRecord: scores.Monitoring,
    score_records.RiskTypeRecord: scores.RiskTypeProposal,
    score_records.ShadowRecord: scores.ShadowScore,
}
JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    Decimal: "number",
    bool: "boolean",
    date: "string",
    datetime: "string",
    pydantic.AwareDatetime: "string",
    type(None): "null",
    Any: "any",
    msgspec.Raw: "any",
}
Field = tuple[str, Any, Any]  # name, JSON type, "required" or the default


def json_type(annotation: Any, enums_as_text: bool = False) -> Any:
    """A field's type as JSON carries it: `string`, `integer`, `number`, …, an enumeration's words, an array or a map
    of a type, or an object named by the contract's model (`int | float` is a number)."""
    origin, args = typing.get_origin(annotation), get_args(annotation)
    if origin is typing.Annotated:
        return json_type(args[0], enums_as_text)
    if origin is Literal:
        return "string" if enums_as_text else ("enum", frozenset(args))
    if origin in (typing.Union, types.UnionType):
        kinds = frozenset(json_type(arg, enums_as_text) for arg in args)
        return "number" if kinds == {"integer", "number"} else ("one of", kinds)
    if origin in (list, dict):
        return (origin.__name__, tuple(json_type(arg, enums_as_text) for arg in args))
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return ("object", annotation.__name__)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return ("object", SCORE_MODELS[annotation].__name__)
    return JSON_TYPES[annotation]


def contract_fields(model: type[pydantic.BaseModel], enums_as_text: bool = False) -> list[Field]:
    """The contract model's fields in order: name, JSON type, and "required" or the default."""
    return [
        (
            name,
            json_type(info.annotation, enums_as_text),
            "required" if info.is_required() else info.get_default(call_default_factory=True),
        )
        for name, info in model.model_fields.items()
    ]


def struct_fields(struct: type[msgspec.Struct], enums_as_text: bool = False) -> list[Field]:
    """The struct's fields in order, described as `contract_fields` describes a model's."""
    return [
        (
            field.name,
            json_type(field.type, enums_as_text),
            "required"
            if field.required
            else (field.default_factory() if field.default_factory is not msgspec.NODEFAULT else field.default),
        )
        for field in msgspec.structs.fields(struct)
    ]


@pytest.mark.parametrize("struct", list(SCORE_MODELS), ids=lambda struct: struct.__name__)
def test_the_score_record_s_codec_carries_exactly_the_fields_of_the_score_contract(struct):
    assert struct_fields(struct) == contract_fields(SCORE_MODELS[struct])


def test_the_contract_names_a_data_model_for_every_event_type_and_the_fast_paths_no_other_type():
    assert set(events.DATA_MODELS) == set(get_args(events.EventType))
    assert set(facts.FACT_TYPES) == set(events.DATA_MODELS)
    assert set(fastpath.DATA_STRUCTS) <= set(events.DATA_MODELS)


@pytest.mark.parametrize("event_type", list(fastpath.DATA_STRUCTS))
def test_ingest_s_fast_path_reads_each_event_s_data_exactly_as_the_contract_defines_it(event_type):
    assert struct_fields(fastpath.DATA_STRUCTS[event_type]) == contract_fields(events.DATA_MODELS[event_type])


def test_ingest_s_fast_path_reads_the_contract_s_envelope_with_the_type_as_its_tag_and_the_data_by_type():
    expected = [field for field in contract_fields(events.Envelope) if field[0] not in ("type", "data")]
    assert struct_fields(fastpath.Envelope) == expected


@pytest.mark.parametrize("event_type", list(facts.FACT_TYPES))
def test_scoring_reads_each_event_s_data_as_the_contract_defines_it_taking_an_enumeration_as_its_text(event_type):
    fact_fields = struct_fields(facts.FACT_TYPES[event_type], enums_as_text=True)
    assert fact_fields == contract_fields(events.DATA_MODELS[event_type], enums_as_text=True)


def test_scoring_reads_of_a_canonical_event_only_fields_the_contract_writes_with_their_types():
    written = {name: kind for name, kind, _ in contract_fields(events.HouseholdEvent, enums_as_text=True)}
    read = {name: kind for name, kind, _ in struct_fields(facts.CanonicalEnvelope, enums_as_text=True)}
    assert read.pop("data") == "any" and "data" in written  # the data is decoded by the event's type
    assert read == {name: written.get(name) for name in read}
