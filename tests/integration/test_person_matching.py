"""Person-level department records (keyed by resident ID) find their household, or wait for it."""

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.clients import login, post_event, read_topic
from tests.factories import cloud_event, registration, resident_id
from tests.infra import ROOT

pytestmark = pytest.mark.integration


def bill(person: str, paid: float, date: str = "2025-03-05", **extra):
    data = {"member_id": person, "date": date, "total_cost": paid * 2, "out_of_pocket": paid, **extra}
    return cloud_event(
        "medical.expense.incurred", data, source="/medical-insurance/5323", time=f"{date}T09:00:00+08:00"
    )


def canonical_by_id(stack) -> dict[str, dict]:
    return {json.loads(m.value)["id"]: json.loads(m.value) for m in read_topic(stack.bootstrap, "events.canonical")}


def wait_for(check, seconds=60):
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.3)
    return result


def test_a_record_of_an_unregistered_person_is_kept_and_joins_the_household_registered_later(stack):
    person = resident_id("53232819660202881")
    early = bill(person, 4000, region_code="532328103002")
    response = post_event(stack, early)
    assert response.status_code == 202 and "no registered household" in response.json()["note"]
    assert early["id"] not in canonical_by_id(stack)
    kept = read_topic(stack.bootstrap, "persons.unmatched")
    assert any(json.loads(m.value)["id"] == early["id"] for m in kept)
    assert all(person.encode() not in m.value for m in kept)

    post_event(stack, registration("HPM1", 60000, members=3, member_ids=[person], region_code="532328103002"))
    joined = wait_for(lambda: canonical_by_id(stack).get(early["id"]))
    assert joined["data"]["household_id"] == "HPM1" and joined["data"]["member_id"].startswith("psn_")

    headers = login(stack)
    household = wait_for(
        lambda: (
            (r := httpx.get(f"{stack.api_url}/households/HPM1", headers=headers)).status_code == 200
            and r.json()["figures"]["medical_out_of_pocket_12m"] == 4000
            and r.json()
        )
    )
    causes = [key for entry in household["timeline"] for key in entry.get("caused_by", [])]
    assert f"/medical-insurance/5323#{early['id']}" in causes


def test_a_record_of_a_registered_person_goes_straight_to_the_household(stack):
    person = resident_id("53232819770303772")
    post_event(stack, registration("HPM2", 60000, members=2, member_ids=[person]))
    later = bill(person, 100)
    response = post_event(stack, later)
    assert response.status_code == 202 and "note" not in response.json()
    assert wait_for(lambda: canonical_by_id(stack).get(later["id"]))["data"]["household_id"] == "HPM2"


def test_a_person_dropped_from_a_registration_no_longer_matches_it(stack):
    stays, leaves = resident_id("53232819880404663"), resident_id("53232819990505554")
    post_event(stack, registration("HPM3", 60000, members=2, member_ids=[stays, leaves], time="2025-01-01T00:00:00Z"))
    post_event(stack, registration("HPM3", 60000, members=1, member_ids=[stays], time="2025-02-01T00:00:00Z"))
    response = post_event(stack, bill(leaves, 50))
    assert "no registered household" in response.json()["note"]


def test_a_person_level_record_needs_a_household_or_a_person(stack):
    event = cloud_event("medical.expense.incurred", {"date": "2025-03-05", "total_cost": 10, "out_of_pocket": 5})
    response = post_event(stack, event)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "data", "reason": "household_id or member_id is required"}]


def test_the_unmatched_report_lists_a_countys_waiting_people_by_pseudonym_only(stack):
    person = resident_id("53232819550505335")
    post_event(stack, bill(person, 20, region_code="532399101001"))
    result = subprocess.run(
        [sys.executable, "-m", "services.ingest.cli", "unmatched", "532399", "--redis-url", stack.redis_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "psn_" in result.stdout and person not in result.stdout


def test_an_unmatched_person_with_large_medical_costs_raises_a_discovery_alert_in_their_township(stack):
    person = resident_id("53232819440404224")
    post_event(stack, bill(person, 15000, date="2025-02-10", region_code="532328102003"))
    post_event(stack, bill(person, 11001, date="2025-04-10", region_code="532328102003"))  # 26,001 > 26,000
    headers = login(stack)
    deadline = time.monotonic() + 60
    while True:
        page = httpx.get(f"{stack.api_url}/alerts", params={"region_code": "532328102003"}, headers=headers).json()
        found = [a for a in page["items"] if a["household_id"].startswith("unregistered-")]
        if found:
            break
        assert time.monotonic() < deadline, "no discovery alert"
        time.sleep(0.5)
    reason = found[0]["reasons"][0]
    assert found[0]["level"] == "yellow" and reason["code"] == "unregistered_medical_burden"
    assert reason["evidence"]["medical_out_of_pocket_12m"] == 26001 and person not in json.dumps(found[0])
