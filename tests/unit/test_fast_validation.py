"""The compiled fast path agrees with the reference (pydantic) path: it takes an event only when the reference
path accepts it, and then writes exactly the same canonical event; everything else it leaves to the reference."""

import copy
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.canonical import CanonicalEvent
from services.ingest.fastpath import FastPath, format_time
from services.ingest.screening import EventWindow
from services.ingest.validation import InvalidEvent, UnparseableBody, parse_json, validate_event
from tests.factories import cloud_event, income, registration, resident_id

KEY = b"unit-test-key"
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
WINDOW = EventWindow(date(2015, 1, 1), 1, timedelta(minutes=15))
FAST = FastPath(KEY, WINDOW)


def reference(body: bytes) -> CanonicalEvent | None:
    """What the reference path makes of one event's JSON: its canonical event, or None when refused."""
    try:
        return CanonicalEvent.of(validate_event(parse_json(body, 32), KEY, NOW, WINDOW))
    except (InvalidEvent, UnparseableBody):
        return None


def fast(body: bytes) -> CanonicalEvent | None:
    """What the fast path makes of it (None: left to the reference path)."""
    return FAST.event(msgspec.Raw(body), WINDOW.bounds(NOW), format_time(NOW))


def bases() -> list[dict[str, Any]]:
    """One plainly valid event of each type (person-level and with resident IDs too)."""
    head, member = resident_id("53232819800101123"), resident_id("53232820100101456")
    return [
        registration("H1", 9600),
        registration(
            "H2",
            12000.5,
            members=3,
            head_id=head,
            member_ids=[head, member],
            disabled_members=1,
            chronic_ill_members=0,
            students=1,
            housing_safe=True,
            water_safe=False,
        ),  # fmt: skip
        income("H1", "2025-02", 800.5),
        cloud_event(
            "medical.expense.incurred",
            {"household_id": "H1", "date": "2025-02-03", "total_cost": 100, "out_of_pocket": 40, "inpatient": True},
        ),
        cloud_event(
            "medical.expense.incurred",
            {
                "member_id": member.lower(),
                "region_code": "532328101001",
                "date": "2025-02-03",
                "total_cost": 9.99,
                "out_of_pocket": 9.99,
                "illness": "chronic",
            },
        ),  # fmt: skip
        cloud_event(
            "disaster.loss.reported",
            {
                "household_id": "H-1_a",
                "date": "2026-12-31",
                "hazard": "flood",
                "house_damage": "severe",
                "economic_loss": 5,
            },
        ),  # fmt: skip
        cloud_event("assistance.requested", {"household_id": "H1", "date": "2025-02-03", "reason": "家里有人生病"}),
        cloud_event(
            "education.expense.incurred",
            {
                "household_id": "H1",
                "date": "2025-09-01",
                "total_cost": 5000,
                "out_of_pocket": 3000.5,
                "stage": "tertiary",
            },
        ),
        cloud_event(
            "education.expense.incurred",
            {"household_id": "H2", "date": "2025-09-01", "total_cost": 0, "out_of_pocket": 0},
        ),
    ]


BASES = bases()  # drawn from by the generator: the same events (ids included) every time


def test_plain_events_of_the_four_common_types_and_schooling_costs_take_the_fast_path_and_match_the_reference():
    for event in bases():
        body = json.dumps(event, ensure_ascii=False).encode()
        expected = reference(body)
        assert expected is not None, event
        if event["type"] == "assistance.requested":
            assert fast(body) is None  # free text is screened by the reference path only
        else:
            assert fast(body) == expected


# Values that probe each rule: types, bounds, decimals, spellings of times and identifiers, resident IDs.
_ID = resident_id("11010519491231002")
MONEY = st.one_of(
    st.integers(-2, 10**13 + 2),
    st.floats(min_value=-1, max_value=2e12),
    st.decimals(0, 10**12, places=2).map(float),
    st.decimals(0, 1000, places=3).map(float),
    st.sampled_from([0, 0.01, 0.1, 1e-05, 1e12, 1e12 + 0.01, 999999999999.99, 1e15, True, "100", None]),
)
COUNTS = st.one_of(st.integers(-1, 32), st.sampled_from([None, True, 2.0, "2"]))
TEXT = st.sampled_from(
    ["", " ", "H1", "h1", "Ｈ１", "H\u200b1", "H1\n", "H 1", "H" * 65, _ID, _ID.lower(), _ID[:-1] + "0", f"H{_ID}",
     f"evt-{_ID}", f"/civil-affairs/{_ID}", "psn_" + "a" * 40, "/civil-affairs/532328", "/civil affairs",
     "/civil-affairs/\u202e", "evt\x00", "evt\x7f", "ｅｖｔ-1", "/ｃｉｖｉｌ", "家里有人生病", f"身份证{_ID}",
     "a\tb\nc", "x" * 129, "x" * 257, None, 1, True]
) | st.text(max_size=12)  # fmt: skip
MONTHS = st.sampled_from(
    ["2025-02", "2025-13", "2025-00", "0001-01", "9999-12", "2205-01", "2026-12", "2027-01", "2027-02", "2014-12",
     "2015-01", "２０２５-０２", "2025-2", "2025-02\n", None, 202502]
) | st.from_regex(r"\A[0-9]{4}-[0-9]{2}\Z")  # fmt: skip
DAYS = st.sampled_from(
    ["2025-02-03", "2025-02-30", "2024-02-29", "2023-02-29", "2027-01-31", "2027-02-01", "2014-12-31", "2015-01-01",
     "0001-01-01", "9999-12-31", "2025-2-3", "2025-02-03T00:00:00", "２０２５-02-03", None, 20250203]
) | st.dates().map(str)  # fmt: skip
TIMES = st.sampled_from(
    ["2025-03-01T08:00:00+08:00", "2025-03-01T00:00:00Z", "2025-03-01T00:00:00+00:00", "2025-03-01T00:00:00-00:00",
     "2025-03-01 08:00:00+08:00", "2025-03-01T08:00:00", "2025-03-01T08:00:00.123Z", "2025-03-01T08:00:00.1234567Z",
     "2025-03-01t08:00:00z", "2025-03-01T08:00Z", "2025-03-01T08:00:00+0800", "2025-03-01T08:00:00+24:00",
     "2025-03-01T08:00:00+23:59", "2025-03-01T08:00:00-12:30", "2025-03-01T24:00:00Z", "2025-03-01T08:00:60Z",
     "2026-12-02T09:44:00Z", "2026-12-02T09:46:00Z", "2026-12-02T17:44:59+08:00", "2014-12-31T23:59:59Z",
     "2015-01-01T00:00:00+08:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1740787200", 1740787200, None]
) | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())  # fmt: skip
PEOPLE = st.sampled_from([_ID, _ID.lower(), f" {_ID} ", _ID[:-1] + "0", "psn_" + "a" * 40, "１" * 18, "", None, 1])
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "specversion": st.sampled_from(["1.0", "1", "0.3", 1.0, None]),
    "id": TEXT, "source": TEXT, "subject": TEXT | st.sampled_from(["H1", "H2"]),
    "type": st.sampled_from(["household.registered", "income.reported", "medical.expense.incurred",
                             "disaster.loss.reported", "assistance.requested", "education.expense.incurred",
                             "Income.Reported", None]),
    "time": TIMES, "datacontenttype": st.sampled_from(["application/json", "text/plain", None]),
    "data": st.sampled_from([None, [], "x", {}]), "traceparent": TEXT,
    "household_id": TEXT | st.sampled_from(["H1", "H-1_a"]),
    "region_code": st.sampled_from(
        ["532328101001", "53232810100", "5323281010012", "５３２３２８１０１００１", "٥٣٢٣٢٨١٠١٠٠١", None, 1]
    ),
    "members": COUNTS, "labourers": COUNTS, "disabled_members": COUNTS, "chronic_ill_members": COUNTS,
    "students": COUNTS, "category": st.sampled_from(["poverty_exited", "ordinary", "monitored", "poor", None]),
    "annual_net_income": MONEY, "amount": MONEY, "total_cost": MONEY, "out_of_pocket": MONEY, "economic_loss": MONEY,
    "housing_safe": st.sampled_from([True, False, None, 1, "true"]), "water_safe": st.sampled_from([True, 0, None]),
    "inpatient": st.sampled_from([True, False, None, 1]), "head_id": PEOPLE, "member_id": PEOPLE,
    "member_ids": st.lists(PEOPLE, max_size=3) | st.sampled_from([None, [_ID] * 31, "x"]),
    "period": MONTHS, "date": DAYS, "income_source": st.sampled_from(["wage", "other", "salary", None]),
    "illness": st.sampled_from(["chronic", "critical", "acute", "other", "flu", None]),
    "hazard": st.sampled_from(["flood", "fire", "meteor", None]),
    "house_damage": st.sampled_from(["none", "minor", "severe", "collapsed", "gone", None]),
    "reason": TEXT, "phone": st.sampled_from(["13800000000"]),
    "stage": st.sampled_from(["preschool", "compulsory", "tertiary", "university", "", None, 1]),
}  # fmt: skip
ENVELOPE_FIELDS = ["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data", "traceparent"]
DATA_FIELDS = [name for name in FIELDS if name not in ENVELOPE_FIELDS]


@st.composite
def events(draw: st.DrawFn) -> bytes:
    """A valid base event with a few of its attributes or data fields replaced, removed or added."""
    event = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(0, 2))):
        target = event if draw(st.integers(0, 2)) == 0 or not isinstance(event.get("data"), dict) else event["data"]
        pool = ENVELOPE_FIELDS if target is event else DATA_FIELDS
        name = draw(st.sampled_from(list(target) or pool) if draw(st.booleans()) else st.sampled_from(pool))
        if draw(st.integers(0, 5)) == 0:
            target.pop(name, None)
        else:
            target[name] = copy.deepcopy(draw(FIELDS[name]))  # sampled values are shared: never mutate them
    text = json.dumps(event, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:  # a key given twice: the last one counts
        text = text.replace('"data": {', f'"data": {{"amount": {draw(st.integers(-2, 2))}, ', 1)
    return text.encode()


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_the_fast_path_never_accepts_what_the_reference_refuses_and_writes_what_the_reference_writes(body):
    taken = fast(body)
    if taken is not None:
        assert taken == reference(body)
