"""The web console in headless Chromium: a county supervisor confirms a case and starts its assistance; overdue cases
stand out in the inbox and on the board (on the workflow stack, whose policy counts in seconds)."""

import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.clients import create_user, login, password_of
from tests.console import log_in
from tests.workflow_stack import FAST_REGION, poll, score, start_workflow_stack

pytestmark = pytest.mark.integration
REVIEWED, LATE = "HCS0000001", "HCS0000002"
LATE_TOWNSHIP = FAST_REGION[:9]


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("console-supervisor"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cases(wf):
    """A case of county 532328 past its public notice, and an overdue one in township 532399101."""
    api, admin = wf.stack.api_url, login(wf.stack)
    worker = create_user(wf.stack, "csv.worker", "township_worker", "532328101")
    create_user(wf.stack, "csv.county", "county_supervisor", "532328")
    create_user(wf.stack, "csv.late", "township_worker", LATE_TOWNSHIP)
    wf.publish(score(REVIEWED), score(LATE, region_code=FAST_REGION))
    alert = poll(f"{api}/alerts", admin, lambda b: b["items"], household_id=REVIEWED)["items"][0]
    url = f"{api}/alerts/{alert['id']}/transitions"
    body = {"to": "verifying", "note": "", "expected_version": alert["version"]}
    alert = httpx.post(url, json=body, headers=worker).raise_for_status().json()
    visit = {"visited_at": "2025-01-16T09:00:00+08:00", "consent": True}
    body = {"to": "reviewing", "note": "seen", "expected_version": alert["version"], **visit}
    reviewed = httpx.post(url, json=body, headers=worker).raise_for_status().json()
    late = poll(f"{api}/alerts", admin, lambda b: b["items"] and b["items"][0]["overdue"], household_id=LATE)
    time.sleep(3.5)  # the 3-second public notice of the test policy
    return {REVIEWED: reviewed, LATE: late["items"][0]}


def test_a_county_supervisor_confirms_a_reviewed_case_and_starts_its_assistance(wf, cases, page, shot):
    log_in(page, wf.stack.api_url, "csv.county")
    item = page.locator(f"#inbox [data-household={REVIEWED}]")
    assert item.is_visible() and "overdue" not in (item.get_attribute("class") or "")
    assert "村级评议公示" in item.inner_text()
    shot(page, "6-supervisor-inbox")
    item.click()
    page.wait_for_selector("form[data-action=confirm]")
    page.select_option("form[data-action=confirm] select[name=category]", "marginal")
    page.fill("form[data-action=confirm] input[name=note]", "村级评议通过")
    page.click("form[data-action=confirm] button[type=submit]")
    expect(page.locator("#status")).to_have_text("已认定", timeout=30_000)
    page.select_option("form[data-action=measure] select[name=type]", "minimum_living_allowance")
    page.fill("form[data-action=measure] input[name=amount]", "600")
    page.click("form[data-action=measure] button[type=submit]")
    page.wait_for_selector("form[data-action=start_assist]")
    shot(page, "7-supervisor-confirmed")
    page.click("form[data-action=start_assist] button")
    expect(page.locator("#status")).to_have_text("帮扶中", timeout=30_000)
    shot(page, "8-supervisor-assisting")
    supervisor = login(wf.stack, "csv.county", password_of("csv.county"))
    alert = httpx.get(f"{wf.stack.api_url}/alerts/{cases[REVIEWED]['id']}", headers=supervisor).json()
    assert (alert["status"], alert["category"]) == ("assisting", "marginal")
    assert [(m["type"], m["amount"]) for m in alert["measures"]] == [("minimum_living_allowance", 600)]


def test_an_overdue_case_stands_out_in_the_inbox_and_on_the_board(wf, cases, page, shot):
    log_in(page, wf.stack.api_url, "csv.late")
    item = page.locator(f"#inbox [data-household={LATE}]")
    assert "overdue" in (item.get_attribute("class") or "")
    assert item.locator(".flag").inner_text() == "逾期"
    shot(page, "9-overdue-inbox")
    page.click("nav a[href='#/board']")
    page.wait_for_selector("#board")
    row = page.locator(f"#board [data-township='{LATE_TOWNSHIP}']")
    assert "overdue" in (row.get_attribute("class") or "")
    assert row.locator("td.flag").inner_text() == "1"
    shot(page, "10-overdue-board")
