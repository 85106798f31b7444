"""The web console in headless Chromium: a township worker takes a red alert through the visit to village review."""

import httpx
import pytest

from tests.clients import create_user, login, post_event, wait_for_alert
from tests.factories import registration, resident_id

pytestmark = pytest.mark.integration
MINE, THEIRS = "HCW0000001", "HCW0000002"


@pytest.fixture(scope="module")
def township(stack):
    """A red alert in township 532325101 (the worker's) and one in 532325102 (another township's)."""
    post_event(stack, registration(MINE, 9600, region_code="532325101001", head_id=resident_id("53232519800101123")))
    post_event(stack, registration(THEIRS, 9600, region_code="532325102001"))
    admin = login(stack)
    alerts = {hid: wait_for_alert(stack, hid, admin) for hid in (MINE, THEIRS)}
    create_user(stack, "console.worker", "township_worker", "532325101")
    return alerts


def log_in(page, stack):
    page.goto(stack.api_url)
    page.fill("input[name=username]", "console.worker")
    page.fill("input[name=password]", "console.worker-password")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#inbox")


def status_of(stack, alert_id):
    headers = login(stack, "console.worker", "console.worker-password")
    return httpx.get(f"{stack.api_url}/alerts/{alert_id}", headers=headers).json()["status"]


def test_a_worker_logs_in_and_takes_a_red_alert_through_the_visit_to_village_review(stack, township, page, shot):
    log_in(page, stack)
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
    page.wait_for_function("document.querySelector('#status')?.textContent === '村级评议公示'")
    shot(page, "3-alert-reviewing")
    assert status_of(stack, township[MINE]["id"]) == "reviewing"


def test_another_townships_alert_is_never_shown(stack, township, page, shot):
    log_in(page, stack)
    assert page.locator(f"[data-household={THEIRS}]").count() == 0
    assert THEIRS not in page.content()
    page.goto(f"{stack.api_url}/#/alert/{township[THEIRS]['id']}")
    page.wait_for_selector("#flash:not([hidden])")
    assert "outside your jurisdiction" in page.inner_text("#flash")
    assert page.inner_text("#refused") == "该记录不在您的辖区内"
    assert THEIRS not in page.inner_text("#view")
    shot(page, "4-other-township-refused")


def test_the_console_switches_to_english_and_shows_the_board(stack, township, page, shot):
    log_in(page, stack)
    page.click("#lang")
    page.wait_for_function("document.querySelector('#view h1')?.textContent.startsWith('My inbox')")
    page.click("nav a[href='#/board']")
    page.wait_for_selector("#board")
    assert page.locator("#board tbody tr").all_inner_texts()[0].startswith("532325101")
    assert page.locator("#board [data-township='532325102']").count() == 0
    shot(page, "5-board-en")
