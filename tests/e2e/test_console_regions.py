"""The web console in headless Chromium shows place names, not codes: the inbox, the alert page, the board (also in
English), the region filter and the admin's user form take a name or its pinyin initials and suggest matches."""

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.clients import create_user, login, password_of, post_event, wait_for_alert
from tests.console import log_in
from tests.factories import registration

pytestmark = pytest.mark.integration
TOWNSHIP, XINHUA, DACUN = "532324201", "532324201001", "532324201002"  # Nanhua county: no other test names it
NAMES = f"code,name\n{TOWNSHIP}000,新华乡\n{XINHUA},新华村委会\n{DACUN},大村村委会\n"
AT_XINHUA, AT_DACUN = "HRG0000001", "HRG0000002"


@pytest.fixture(scope="module")
def township(stack):
    """Names imported for a township and two villages; a red alert in each village; a worker of the township."""
    admin = login(stack)
    files = {"file": ("nanhua.csv", NAMES.encode(), "text/csv")}
    job = httpx.post(f"{stack.api_url}/regions/import", files=files, headers=admin, timeout=30).json()
    deadline = time.monotonic() + 60
    while httpx.get(f"{stack.api_url}/regions/import/{job['id']}", headers=admin).json()["status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    post_event(stack, registration(AT_XINHUA, 9600, region_code=XINHUA))
    post_event(stack, registration(AT_DACUN, 9600, region_code=DACUN))
    alerts = {hid: wait_for_alert(stack, hid, admin) for hid in (AT_XINHUA, AT_DACUN)}
    create_user(stack, "names.worker", "township_worker", TOWNSHIP)
    return alerts


def test_the_inbox_and_the_alert_page_show_the_village_by_name_with_the_code_in_small_print(
    stack, township, page, shot
):
    log_in(page, stack.api_url, "names.worker")
    place = page.locator(f"#inbox [data-household={AT_XINHUA}] .place")
    assert place.inner_text().startswith("新华乡 · 新华村")
    assert place.locator("small.code").inner_text() == XINHUA
    assert page.inner_text("#who") == "names.worker · 新华乡"
    shot(page, "11-inbox-village-names")
    place.click()
    page.wait_for_selector("#place")
    assert "云南省 楚雄彝族自治州 南华县 新华乡 新华村" in page.inner_text("#place")
    assert (
        page.locator("#place .place").get_attribute("title") == f"云南省 楚雄彝族自治州 南华县 新华乡 新华村 · {XINHUA}"
    )
    shot(page, "12-alert-village-name")


def test_the_region_filter_takes_pinyin_initials_and_narrows_the_inbox_to_one_village(stack, township, page, shot):
    log_in(page, stack.api_url, "names.worker")
    page.fill("#region-filter input[data-picker=region_code]", "dc")
    suggestion = page.locator(f"#region-filter .suggest [data-code='{DACUN}']")
    expect(suggestion).to_contain_text("新华乡 · 大村")
    shot(page, "13-region-filter-suggestions")
    suggestion.click()
    expect(page.locator(f"#inbox [data-household={AT_XINHUA}]")).to_have_count(0)
    assert page.locator(f"#inbox [data-household={AT_DACUN}]").is_visible()
    assert page.url.endswith(f"#/inbox/{DACUN}")
    assert page.input_value("#region-filter input[data-picker=region_code]") == "新华乡 · 大村"


def test_the_english_console_shows_the_same_zh_cn_names_on_the_board(stack, township, page, shot):
    log_in(page, stack.api_url, "names.worker")
    page.click("#lang")
    expect(page.locator("#view h1")).to_have_text(re.compile(r"^My inbox"), timeout=30_000)
    page.click("nav a[href='#/board']")
    page.wait_for_selector("#board")
    row = page.locator(f"#board [data-township='{TOWNSHIP}'] .place")
    assert row.inner_text().startswith("新华乡") and row.locator("small.code").inner_text() == TOWNSHIP
    assert "新华乡" in page.inner_text("#view h1")
    shot(page, "14-board-names-en")


def test_an_admin_creates_a_worker_by_choosing_the_township_by_name(stack, township, page, shot):
    log_in(page, stack.api_url, "admin", stack.admin_password)
    page.click("nav a[href='#/users']")
    page.wait_for_selector("#new-user")
    page.fill("#new-user input[name=username]", "names.new")
    page.fill("#new-user input[name=password]", password_of("names.new"))
    page.select_option("#new-user select[name=role]", "township_worker")
    page.fill("#new-user input[data-picker=region_code]", "新华")
    page.click(f"#new-user .suggest [data-code='{TOWNSHIP}']")
    shot(page, "15-new-user-township-by-name")
    page.click("#new-user button[type=submit]")
    expect(page.locator("#users [data-user='names.new'] .place")).to_contain_text("新华乡")
    created = httpx.get(f"{stack.api_url}/users", headers=login(stack)).json()
    assert {u["username"]: u["region_code"] for u in created}["names.new"] == TOWNSHIP
