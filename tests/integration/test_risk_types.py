"""Causes, not only colours, from outside through v1 calls on the real stack: a chronic illness's large bill gives
an alert whose risk types start with illness, a collapsed house gives disaster, schooling costs (a v1 addition, sent
as a batch) give education; GET /stats counts them, the ledger names them, a worker's correction at the home visit
is audited and in the history. Households of this module start with `HRT`, in township 532328188 of no other test."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx
import pytest

from tests.clients import create_user, login, post_batch, post_event, wait_for_alert
from tests.factories import cloud_event, registration
from tests.infra import wait_until

pytestmark = pytest.mark.integration
TOWNSHIP = "532328188"
ILL, HOUSE, SCHOOL = "HRT0000001", "HRT0000002", "HRT0000003"


def bill(household_id: str) -> dict:
    data = {"household_id": household_id, "date": "2025-02-10", "total_cost": 64000, "out_of_pocket": 32000,
            "illness": "chronic", "inpatient": True}  # fmt: skip
    return cloud_event("medical.expense.incurred", data, source="/medical-insurance/532328")


def collapsed(household_id: str) -> dict:
    data = {"household_id": household_id, "date": "2025-02-20", "hazard": "landslide", "house_damage": "collapsed",
            "economic_loss": 30000}  # fmt: skip
    return cloud_event("disaster.loss.reported", data, source="/emergency/532328")


def schooling(household_id: str) -> dict:
    data = {"household_id": household_id, "date": "2025-02-25", "total_cost": 9000, "out_of_pocket": 6000,
            "stage": "tertiary"}  # fmt: skip
    return cloud_event("education.expense.incurred", data, source="/education/532328")


@pytest.fixture(scope="module")
def cases(stack) -> dict[str, dict]:
    """The three households' alerts, their events sent one by one (illness, house) and as one batch (schooling)."""
    for household, village, evidence in ((ILL, "001", bill), (HOUSE, "002", collapsed)):
        for event in (registration(household, 40000, region_code=f"{TOWNSHIP}{village}"), evidence(household)):
            assert post_event(stack, event).status_code == 202
    answer = post_batch(stack, [registration(SCHOOL, 40000, region_code=f"{TOWNSHIP}001"), schooling(SCHOOL)])
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "accepted"], answer.text
    admin = login(stack)
    found: dict[str, dict] = {}

    def carry(household: str, wanted: str) -> Callable[[], bool]:  # the registration alone may have scored first
        def check() -> bool:
            found[household] = wait_for_alert(stack, household, admin)
            return wanted in found[household]["risk_types"]

        return check

    for household, wanted in ((ILL, "illness"), (HOUSE, "disaster"), (SCHOOL, "education")):
        wait_until(carry(household, wanted), 60, f"{household}'s alert to carry {wanted}")
    return found


def test_a_chronic_illness_s_large_bill_gives_illness_first_and_a_collapsed_house_gives_disaster(cases):
    illness = cases[ILL]
    assert illness["risk_types"][0] == "illness" and illness["level"] == "red"
    evidence = [p for p in illness["risk_type_proposals"] if p["risk_type"] == "illness"]
    assert evidence and evidence[0]["evidence"] == "medical_chronic" and "慢性病" in evidence[0]["message_zh"]
    assert cases[HOUSE]["risk_types"] == ["disaster"] and cases[HOUSE]["level"] == "red"
    assert cases[SCHOOL]["risk_types"] == ["education"]


def test_schooling_costs_are_rigid_spending_in_the_household_s_figures(stack, cases):
    household = httpx.get(f"{stack.api_url}/households/{SCHOOL}", headers=login(stack)).json()
    assert household["figures"]["schooling_out_of_pocket_12m"] == 6000
    assert household["figures"]["per_capita_after_rigid_spending"] == 8500


def test_the_board_counts_each_risk_type_per_township_and_the_list_filters_by_one(stack, cases):
    admin = login(stack)
    stats = httpx.get(f"{stack.api_url}/stats", params={"region_code": TOWNSHIP}, headers=admin).json()
    assert stats["by_risk_type"]["illness"] == {"open": 1, "confirmed": 0, "overdue": 0}
    assert stats["by_risk_type"]["disaster"]["open"] == 1 and stats["by_risk_type"]["education"]["open"] == 1
    assert list(stats["by_risk_type"])[:4] == ["illness", "disability", "education", "disaster"]
    (row,) = stats["by_township"]
    assert row["by_risk_type"]["disaster"]["open"] == 1
    listed = httpx.get(f"{stack.api_url}/alerts", params={"risk_type": "illness", "region_code": TOWNSHIP},
                       headers=admin).json()  # fmt: skip
    assert [item["household_id"] for item in listed["items"]] == [ILL]


def test_the_ledger_names_the_risk_types_in_zh_cn(stack, cases):
    answer = httpx.get(f"{stack.api_url}/ledger.csv", params={"township": TOWNSHIP}, headers=login(stack))
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    by_id = {row["预警编号"]: row for row in rows}
    assert by_id[cases[HOUSE]["id"]]["风险类型"] == "因灾"
    assert by_id[cases[ILL]["id"]]["风险类型"].startswith("因病")
    assert by_id[cases[ILL]["id"]]["风险类型核定"] == "系统建议"


def test_a_worker_s_correction_at_the_home_visit_is_audited_and_shows_in_the_history_and_the_counts(stack, cases):
    worker = create_user(stack, "rt.worker", "township_worker", TOWNSHIP)
    alert = cases[ILL]
    url = f"{stack.api_url}/alerts/{alert['id']}/transitions"
    taken = httpx.post(url, json={"to": "verifying"}, headers=worker).raise_for_status().json()
    visit = {"to": "reviewing", "visited_at": "2025-03-02", "consent": True, "risk_types": ["illness", "disability"],
             "expected_version": taken["version"]}  # fmt: skip
    after = httpx.post(url, json=visit, headers=worker).raise_for_status().json()
    assert after["risk_types"] == ["illness", "disability"]
    assert after["risk_types_review"]["step"] == "home_visit" and after["risk_types_review"]["by"] == "rt.worker"
    entry = after["history"][-1]
    assert (entry["change"], entry["by"], entry["risk_types_before"], entry["risk_types"]) == (
        "risk_types_corrected", "rt.worker", alert["risk_types"], ["illness", "disability"])  # fmt: skip
    admin = login(stack)
    audit = httpx.get(f"{stack.api_url}/audit", params={"target": alert["id"], "action": "alert.risk_types_corrected"},
                      headers=admin).json()  # fmt: skip
    (item,) = audit["items"]
    assert (item["user"], item["risk_types"], item["before"]) == ("rt.worker", "illness,disability",
                                                                  ",".join(alert["risk_types"]))  # fmt: skip
    stats = httpx.get(f"{stack.api_url}/stats", params={"region_code": TOWNSHIP}, headers=admin).json()
    assert stats["by_risk_type"]["disability"]["open"] == 1
    detail = httpx.get(f"{stack.api_url}/alerts/{alert['id']}", headers=worker).json()
    assert detail["matching_measures"]["disability"][0] == "disability_allowance"
