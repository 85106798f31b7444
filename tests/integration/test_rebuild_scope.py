"""`python -m services.alerts rebuild` deletes only the alerts projection's keys: other services keep theirs."""

import json
import time

import pytest

from tests.clients import post_event, read_topic
from tests.factories import cloud_event, registration, resident_id

pytestmark = pytest.mark.integration


def bill(person: str, date: str) -> dict:
    data = {"member_id": person, "date": date, "total_cost": 3000, "out_of_pocket": 1500}
    when = f"{date}T09:00:00+08:00"
    return cloud_event("medical.expense.incurred", data, source="/medical-insurance/5323", time=when)


def household_of(stack, event_id: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in read_topic(stack.bootstrap, "events.canonical"):
            event = json.loads(message.value)
            if event["id"] == event_id:
                return str(event["data"]["household_id"])
        time.sleep(0.5)
    raise AssertionError(f"event {event_id} never reached events.canonical")


def test_after_a_rebuild_a_person_level_record_still_finds_its_household(stack):
    person = resident_id("53232819810404661")
    assert post_event(stack, registration("HRS1", 60000, member_ids=[person])).status_code == 202
    before = bill(person, "2025-03-05")
    assert post_event(stack, before).status_code == 202
    assert household_of(stack, before["id"]) == "HRS1"

    stack.rebuild_alerts()

    after = bill(person, "2025-03-06")
    assert post_event(stack, after).status_code == 202
    assert household_of(stack, after["id"]) == "HRS1"
