"""The web console in headless Chromium: a township worker takes a red alert through the visit to village review."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.clients import create_user, login, password_of, post_event, wait_for_alert
from tests.console import log_in
from tests.factories import registration, resident_id

pytestmark = pytest.mark.integration
MINE, THEIRS, ECHO, ELSEWHERE = "HCW0000001", "HCW0000002", "HCW0000003", "HCW0000004"


@pytest.fixture(scope="module")
def township(stack):
    """Red alerts in township 532325101 (the worker's) and one in 532325102 (another township's)."""
    post_event(stack, registration(MINE, 9600, region_code="532325101001", head_id=resident_id("53232519800101123")))
    post_event(stack, registration(THEIRS, 9600, region_code="532325102001"))
    for household in (ECHO, ELSEWHERE):
        post_event(stack, registration(household, 9600, region_code="532325101002"))
    admin = login(stack)
    alerts = {hid: wait_for_alert(stack, hid, admin) for hid in (MINE, THEIRS, ECHO, ELSEWHERE)}
    create_user(stack, "console.worker", "township_worker", "532325101")
    return alerts


def as_worker(stack):
    return login(stack, "console.worker", password_of("console.worker"))


def status_of(stack, alert_id):
    return httpx.get(f"{stack.api_url}/alerts/{alert_id}", headers=as_worker(stack)).json()["status"]


def move(stack, alert, to, **extra):
    """Move an alert as the worker from another device, the way the console does."""
    url = f"{stack.api_url}/alerts/{alert['id']}"
    version = httpx.get(url, headers=as_worker(stack)).json()["version"]
    body = {"to": to, "expected_version": version, **extra}
    response = httpx.post(f"{url}/transitions", json=body, headers=as_worker(stack), timeout=30)
    assert response.status_code == 200, response.text


def test_a_worker_logs_in_and_takes_a_red_alert_through_the_visit_to_village_review(stack, township, page, shot):
    log_in(page, stack.api_url, "console.worker")
    item = page.locator(f"#inbox [data-household={MINE}]")
    assert item.is_visible() and "red" in (item.get_attribute("class") or "")
    shot(page, "1-inbox")
    item.click()
    page.wait_for_selector("form[data-action=take]")
    assert "人均纯收入" in page.inner_text("#view") and page.locator("svg.chart circle").count() >= 1
    shot(page, "2-alert-open")
    page.click("form[data-action=take] button")
    page.wait_for_selector("form[data-action=visit]")
    assert page.inner_text("#status") == "核实中"
    assert status_of(stack, township[MINE]["id"]) == "verifying"
    page.check("form[data-action=visit] input[name=consent]")
    page.fill("form[data-action=visit] input[name=note]", "已入户，户主签字")
    page.click("form[data-action=visit] button[type=submit]")
    expect(page.locator("#status")).to_have_text("村级评议公示", timeout=30_000)
    shot(page, "3-alert-reviewing")
    assert status_of(stack, township[MINE]["id"]) == "reviewing"


def test_another_townships_alert_is_never_shown(stack, township, page, shot):
    log_in(page, stack.api_url, "console.worker")
    assert page.locator(f"[data-household={THEIRS}]").count() == 0
    assert THEIRS not in page.content()
    page.goto(f"{stack.api_url}/#/alert/{township[THEIRS]['id']}")
    page.wait_for_selector("#flash:not([hidden])")
    assert page.inner_text("#flash") == f"no alert {township[THEIRS]['id']}"  # as if it did not exist
    assert page.inner_text("#refused") == "没有找到该记录"
    assert THEIRS not in page.inner_text("#view")
    shot(page, "4-other-township-refused")


def test_the_console_switches_to_english_and_shows_the_board(stack, township, page, shot):
    log_in(page, stack.api_url, "console.worker")
    page.click("#lang")
    expect(page.locator("#view h1")).to_have_text(re.compile(r"^My inbox"), timeout=30_000)
    page.click("nav a[href='#/board']")
    page.wait_for_selector("#board")
    assert page.locator("#board tbody tr").all_inner_texts()[0].startswith("532325101")
    assert page.locator("#board [data-township='532325102']").count() == 0
    shot(page, "5-board-en")


def test_the_live_echo_of_the_worker_s_own_action_leaves_the_form_they_are_filling_alone(stack, township, page):
    log_in(page, stack.api_url, "console.worker")
    page.goto(f"{stack.api_url}/#/alert/{township[ECHO]['id']}")
    page.click("form[data-action=take] button")
    page.wait_for_selector("form[data-action=visit]")
    page.fill("form[data-action=visit] input[name=note]", "已入户")
    page.wait_for_selector("#live[data-last-change]", state="attached")
    page.wait_for_timeout(1500)  # longer than the console waits before it redraws on a live change
    assert page.input_value("form[data-action=visit] input[name=note]") == "已入户"
    assert page.locator("#stale").count() == 0


def test_a_change_made_elsewhere_keeps_what_the_worker_typed_and_offers_a_reload(stack, township, page, shot):
    move(stack, township[ELSEWHERE], "verifying")
    log_in(page, stack.api_url, "console.worker")
    page.goto(f"{stack.api_url}/#/alert/{township[ELSEWHERE]['id']}")
    page.fill("form[data-action=visit] input[name=note]", "户主外出，约定明日再访")
    move(stack, township[ELSEWHERE], "dismissed", reason="已由村里核实，收入正常")
    page.wait_for_selector("#stale")
    assert "此预警刚被更新" in page.inner_text("#stale") and "已排除" in page.inner_text("#stale")
    assert page.input_value("form[data-action=visit] input[name=note]") == "户主外出，约定明日再访"
    assert page.locator("form[data-action=visit] button[type=submit]").is_disabled()
    shot(page, "6-alert-changed-underneath")
    page.click("#stale button")
    expect(page.locator("#status")).to_have_text("已排除", timeout=30_000)
