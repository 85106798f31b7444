import json

import pytest

from services.common.events import HouseholdEvent, HouseholdRegistered
from services.ingest.bindings import UnsupportedMediaType, from_http, from_kafka
from services.ingest.validation import InvalidEvent, UnparseableBody, parse_json, source_allowed, validate_event
from tests.factories import cloud_event, income, registration, resident_id

KEY = b"unit-test-key"
DEPTH = 32


def fields_of(exc: pytest.ExceptionInfo[InvalidEvent]) -> dict[str, str]:
    return {error.field: error.reason for error in exc.value.errors}


def test_a_valid_registration_becomes_a_typed_household_event():
    event = validate_event(registration("H1", 9600), KEY)
    assert isinstance(event.data, HouseholdRegistered)
    assert event.household_id == "H1"
    assert event.data.annual_net_income == 9600


@pytest.mark.parametrize(
    "event_type,data",
    [
        ("income.reported", {"household_id": "H1", "period": "2025-02", "amount": 800.5}),
        (
            "medical.expense.incurred",
            {"household_id": "H1", "date": "2025-02-03", "total_cost": 100, "out_of_pocket": 40},
        ),
        (
            "disaster.loss.reported",
            {
                "household_id": "H1",
                "date": "2025-02-03",
                "hazard": "flood",
                "house_damage": "severe",
                "economic_loss": 5,
            },
        ),
        ("assistance.requested", {"household_id": "H1", "date": "2025-02-03", "reason": "家里有人生病"}),
    ],
)
def test_every_v1_event_type_is_accepted(event_type, data):
    assert validate_event(cloud_event(event_type, data), KEY).type == event_type


def test_every_missing_attribute_and_field_is_named():
    raw = registration("H1", 9600)
    del raw["time"]
    del raw["data"]["members"]
    with pytest.raises(InvalidEvent) as exc:
        validate_event(raw, KEY)
    assert fields_of(exc) == {"time": "required", "data.members": "required"}


def test_an_unknown_data_field_is_refused_so_no_personal_data_slips_in():
    raw = registration("H1", 9600, phone="13800000000")
    with pytest.raises(InvalidEvent) as exc:
        validate_event(raw, KEY)
    assert fields_of(exc) == {"data.phone": "unknown field: not part of the v1 contract"}


def test_an_extension_attribute_is_refused():
    with pytest.raises(InvalidEvent) as exc:
        validate_event({**registration("H1", 9600), "traceparent": "x"}, KEY)
    assert "traceparent" in fields_of(exc)


@pytest.mark.parametrize(
    "amount,reason",
    [(-1, "must be ≥ 0"), (1.234, "at most 2 decimals"), ("100", "JSON number"), (True, "JSON number"), (10**13, "≤")],
)
def test_money_must_be_a_non_negative_number_with_at_most_two_decimals(amount, reason):
    with pytest.raises(InvalidEvent) as exc:
        validate_event(income("H1", "2025-02", amount), KEY)
    assert reason in fields_of(exc)["data.amount"]


def test_counts_cannot_exceed_the_household_members():
    raw = registration("H1", 9600, members=2)
    raw["data"]["labourers"] = 3
    with pytest.raises(InvalidEvent) as exc:
        validate_event(raw, KEY)
    assert "labourers (3) must not exceed members (2)" in exc.value.errors[0].reason


def test_out_of_pocket_above_total_cost_is_refused():
    data = {"household_id": "H1", "date": "2025-02-03", "total_cost": 100, "out_of_pocket": 140}
    with pytest.raises(InvalidEvent, match="out_of_pocket must not exceed total_cost"):
        validate_event(cloud_event("medical.expense.incurred", data), KEY)


@pytest.mark.parametrize("field,value", [("region_code", "53232810100"), ("household_id", "H 1"), ("members", 31)])
def test_identifiers_and_ranges_follow_the_contract(field, value):
    raw = registration("H1", 9600)
    raw["data"][field] = value
    with pytest.raises(InvalidEvent) as exc:
        validate_event(raw, KEY)
    assert f"data.{field}" in fields_of(exc)


def test_the_subject_must_match_the_household():
    with pytest.raises(InvalidEvent) as exc:
        validate_event({**registration("H1", 9600), "subject": "H2"}, KEY)
    assert fields_of(exc) == {"subject": "must equal data.household_id"}


def test_an_invalid_resident_id_is_refused_on_its_field():
    raw = registration("H1", 9600, head_id="110105194912310021")
    with pytest.raises(InvalidEvent) as exc:
        validate_event(raw, KEY)
    assert fields_of(exc) == {"data.head_id": "check digit does not match (GB 11643)"}


def test_resident_ids_are_replaced_by_pseudonyms_before_the_event_leaves_ingest():
    head, member = resident_id("53232819800101123"), resident_id("53232820100101456")
    event = validate_event(registration("H1", 9600, head_id=head, member_ids=[head, member]), KEY)
    serialised = event.to_json().decode()
    assert head not in serialised and member not in serialised
    assert event.data.head_id.startswith("psn_")
    assert event.data.member_ids[0] == event.data.head_id


def test_a_canonical_event_round_trips_through_json():
    event = validate_event(income("H1", "2025-02", 800.5), KEY)
    assert HouseholdEvent.from_json(event.to_json()) == event


def test_nan_and_infinity_are_not_json():
    with pytest.raises(UnparseableBody, match="NaN"):
        parse_json(b'{"amount": NaN}')


def test_binary_mode_takes_attributes_from_ce_headers():
    raw = registration("H1", 9600)
    headers = {f"ce-{k}": v for k, v in raw.items() if k not in ("data", "datacontenttype")}
    events, is_batch = from_http("application/json; charset=utf-8", headers, json.dumps(raw["data"]).encode(), DEPTH)
    assert not is_batch
    assert validate_event(events[0], KEY).id == raw["id"]


def test_a_batch_must_be_an_array():
    with pytest.raises(UnparseableBody, match="array"):
        from_http("application/cloudevents-batch+json", {}, b"{}", DEPTH)


def test_an_unknown_content_type_is_refused_with_the_accepted_ones_listed():
    with pytest.raises(UnsupportedMediaType, match="application/cloudevents\\+json"):
        from_http("text/plain", {}, b"{}", DEPTH)


def test_kafka_binary_and_structured_messages_are_both_read():
    raw = registration("H1", 9600)
    headers = [(f"ce_{k}", str(v).encode()) for k, v in raw.items() if k not in ("data", "datacontenttype")]
    binary = from_kafka(headers, json.dumps(raw["data"]).encode(), DEPTH)
    structured = from_kafka([], json.dumps(raw).encode(), DEPTH)
    assert validate_event(binary, KEY).data == validate_event(structured, KEY).data


@pytest.mark.parametrize(
    "source,prefix,allowed",
    [
        ("/medical-insurance/5325", "/medical-insurance", True),
        ("/medical-insurance", "/medical-insurance", True),
        ("/medical-insurance-fake/5325", "/medical-insurance", False),
        ("/civil-affairs/5325", "/medical-insurance/", False),
        ("/anything", "/", True),
    ],
)
def test_a_key_may_publish_only_sources_under_its_prefix_at_a_path_boundary(source, prefix, allowed):
    assert source_allowed(source, prefix) is allowed
