"""The console in headless Chromium: a case shows its risk types with their evidence; the worker corrects them at the
home visit; the county confirms them, and records a measure from those that answer them, offered first; the board
charts cases by risk type (on the workflow stack: scores are published directly, the public notice lasts 3 seconds)."""

import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.clients import create_user, login
from tests.console import log_in
from tests.workflow_stack import poll, score, start_workflow_stack

pytestmark = pytest.mark.integration
ILL = "HRC0000001"
TOWNSHIP = "532328103"


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("console-risk-types"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def case(wf):
    """A red case proposed as illness by a chronic illness's bills."""
    create_user(wf.stack, "crt.worker", "township_worker", TOWNSHIP)
    create_user(wf.stack, "crt.county", "county_supervisor", "532328")
    raised = score(ILL, codes=("medical_burden",), region_code=f"{TOWNSHIP}001")
    proposal = {"risk_type": "illness", "reason": "medical_burden", "evidence": "medical_chronic", "level": "red",
                "message_zh": "慢性病等医疗自付32,000元（近12个月）",
                "message_en": "chronic illness: 32,000 yuan out of pocket in 12 months", "amount": 32000}  # fmt: skip
    wf.publish(raised.model_validate({**raised.model_dump(), "risk_type_proposals": [proposal]}))
    return poll(f"{wf.stack.api_url}/alerts", login(wf.stack), lambda b: b["items"], household_id=ILL)["items"][0]


def test_a_worker_sees_the_case_s_risk_types_with_their_evidence_and_corrects_them_at_the_visit(wf, case, page, shot):
    log_in(page, wf.stack.api_url, "crt.worker")
    item = page.locator(f"#inbox [data-household={ILL}]")
    expect(item.locator(".chip.main")).to_have_text("因病")
    item.click()
    page.wait_for_selector("form[data-action=take]")
    expect(page.locator("#risk-types [data-risk=illness]")).to_contain_text("慢性病等医疗自付32,000元")
    expect(page.locator("#risk-set-by")).to_have_text("系统根据证据建议，待入户核实")
    page.click("form[data-action=take] button[type=submit]")
    page.wait_for_selector("form[data-action=visit]")
    form = page.locator("form[data-action=visit]")
    assert form.locator("select[name=main_risk]").input_value() == "illness"
    form.locator("input[name=risk_type][value=disability]").check()
    form.locator("input[name=consent]").check()
    shot(page, "11-risk-types-visit")
    form.locator("button[type=submit]").click()
    expect(page.locator("#status")).to_have_text("村级评议公示", timeout=30_000)
    expect(page.locator("#risk-types .chip")).to_have_text(["因病", "因残"])
    expect(page.locator("#risk-set-by")).to_contain_text("入户核实 · crt.worker · 已更正")
    expect(page.locator(".timeline")).to_contain_text("更正风险类型")
    expect(page.locator(".timeline")).to_contain_text("因病 → 因病、因残")
    shot(page, "12-risk-types-corrected")
    alert = httpx.get(f"{wf.stack.api_url}/alerts/{case['id']}", headers=login(wf.stack)).json()
    assert alert["risk_types"] == ["illness", "disability"] and alert["history"][-1]["change"] == "risk_types_corrected"


def test_the_county_confirms_the_risk_types_and_records_a_measure_from_those_matching_them_first(wf, case, page, shot):
    poll(f"{wf.stack.api_url}/alerts/{case['id']}", login(wf.stack), lambda b: b["status"] == "reviewing")
    time.sleep(3.5)  # the 3-second public notice of the test policy
    log_in(page, wf.stack.api_url, "crt.county")
    page.locator(f"#inbox [data-household={ILL}]").click()
    page.wait_for_selector("form[data-action=confirm]")
    page.select_option("form[data-action=confirm] select[name=category]", "sudden_hardship")
    page.click("form[data-action=confirm] button[type=submit]")
    expect(page.locator("#status")).to_have_text("已认定", timeout=30_000)
    expect(page.locator("#risk-set-by")).to_contain_text("县级认定 · crt.county · 已确认")
    measure = page.locator("form[data-action=measure] select[name=type]")
    groups = measure.locator("optgroup")
    assert groups.first.get_attribute("label") == "与风险类型匹配的措施"
    matching = [
        "医疗救助",
        "大病保险",
        "慢病签约服务",
        "残疾人两项补贴",
        "低保",
        "特困供养",
    ]  # illness's, then disability's
    assert groups.first.locator("option").all_inner_texts() == matching
    assert measure.input_value() == "medical_assistance"
    page.fill("form[data-action=measure] input[name=amount]", "1200")
    shot(page, "13-risk-types-measures")
    page.click("form[data-action=measure] button[type=submit]")
    page.wait_for_selector("form[data-action=start_assist]")
    alert = httpx.get(f"{wf.stack.api_url}/alerts/{case['id']}", headers=login(wf.stack)).json()
    assert [m["type"] for m in alert["measures"]] == ["medical_assistance"]
    assert alert["risk_types_review"]["step"] == "confirmation"


def test_the_board_charts_cases_by_risk_type_and_names_each_township_s_main_ones(wf, case, page, shot):
    log_in(page, wf.stack.api_url, "crt.county")
    page.click("nav a[href='#/board']")
    page.wait_for_selector("#risk-chart")
    expect(page.locator("#risk-chart rect.open[data-risk=illness]")).to_have_attribute("data-open", "1")
    expect(page.locator("#risk-chart rect.open[data-risk=disaster]")).to_have_attribute("data-open", "0")
    expect(page.locator(f"#board [data-township='{TOWNSHIP}'] td.risks-cell")).to_have_text("因病 1 · 因残 1")
    shot(page, "14-risk-types-board")
    page.click("#lang")
    expect(page.locator("#risk-chart")).to_contain_text("disability")
    shot(page, "15-risk-types-board-en")
