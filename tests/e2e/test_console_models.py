"""The analysts' pages in headless Chromium: the registry with every baseline and its interval, a version's report
plots, the live monitoring as charts with its drift alarm, the shadow report, and activate / shadow / roll back behind
confirmations that name the effect (on the workflow stack: alerts, API and jobs; the test publishes the scores)."""

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer
from playwright.sync_api import expect

from services.common.kafka_auth import client_options
from services.scoring.model import activation_message
from tests.clients import create_user, login
from tests.console import log_in
from tests.model_watch import monitored_scores, publish_shadow, shadow_scores, this_month, train_version
from tests.workflow_stack import poll, start_workflow_stack

pytestmark = pytest.mark.integration
OLD, NEW = "ui-old", "ui-new"
STEADY, DRIFTED = "532328", "532301"  # 元谋县 scores like the training rows; 楚雄市's incomes collapse this month
DRAWN = re.compile(r"^\d{3,4}x\d{3,4}$")  # a plot drawn on its canvas at the PNG's size
HOUSEHOLDS = 40  # per county and month; this stack alarms from 30 (MONITORING_MIN_HOUSEHOLDS)


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    env = {"MONITORING_MIN_HOUSEHOLDS": "30", "MONITORING_MIN_VERDICTS": "5", "MONITORING_GAUGES_SECONDS": "1"}
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("console-models"), **env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def watched(wf):
    """Two trained versions, the older active; three months of its scores in both counties (楚雄市 drifting in the
    newest), and field verdicts on some of 元谋县's alerts: four dismissed, three confirmed."""
    api, folder = wf.stack.api_url, Path(wf.stack.env["MODEL_DIR"])
    old, _ = train_version(folder, OLD, seed=4), train_version(folder, NEW, seed=5)
    analyst = create_user(wf.stack, "ana.console", "analyst", "")
    worker = create_user(wf.stack, "wang.models", "township_worker", f"{STEADY}101")
    supervisor = create_user(wf.stack, "li.models", "county_supervisor", STEADY)
    create_user(wf.stack, "ana.yuanmou", "analyst", STEADY)
    httpx.post(f"{api}/models/{OLD}/activate", headers=analyst, timeout=30).raise_for_status()
    for back in (2, 1, 0):
        wf.publish(*monitored_scores(old, STEADY, this_month(back), HOUSEHOLDS))
        wf.publish(*monitored_scores(old, DRIFTED, this_month(back), HOUSEHOLDS, drifted=back == 0))
    counted = lambda b: sum(r["households"] for r in b["drift"]) == 6 * HOUSEHOLDS  # noqa: E731
    poll(f"{api}/models/active/monitoring", analyst, counted, seconds=60)
    alerts = poll(f"{api}/alerts", login(wf.stack), lambda b: b["total"] >= HOUSEHOLDS, region_code=STEADY)["items"]
    for alert in alerts[:4]:
        _move(api, worker, alert, "dismissed", reason="收入已高于监测线")
    visit = {"visited_at": "2026-01-10T09:00:00+08:00", "consent": True}
    reviewing = [_move(api, worker, _move(api, worker, a, "verifying"), "reviewing", **visit) for a in alerts[4:7]]
    time.sleep(3.5)  # the 3-second public notice of this stack's policy
    for alert in reviewing:
        _move(api, supervisor, alert, "confirmed", category="marginal")
    decided = lambda b: sum(x["confirmed"] + x["dismissed"] for x in b["calibration"]["bands"]) == 7  # noqa: E731
    poll(f"{api}/models/active/monitoring", analyst, decided, seconds=60)
    yield analyst
    httpx.delete(f"{api}/models/shadow", headers=analyst, timeout=30)
    _rules_only(wf.stack.bootstrap)


def _move(api, headers, alert, to, **fields):
    body = {"to": to, "note": "", "expected_version": alert["version"], **fields}
    response = httpx.post(f"{api}/alerts/{alert['id']}/transitions", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _rules_only(bootstrap: str) -> None:
    """Other tests on this broker expect rules-only scoring: activate nothing, as tests/integration do."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
    producer.send("models.activations", activation_message(None, "tests", datetime.now(UTC))).get(30)
    producer.close()


def active_version(wf, analyst):
    return httpx.get(f"{wf.stack.api_url}/models", headers=analyst, timeout=30).json()["active"]


def test_an_analyst_sees_each_version_trained_by_whom_on_what_with_every_baseline_and_its_interval(wf, watched, page,
                                                                                                 shot):  # fmt: skip
    log_in(page, wf.stack.api_url, "ana.console", wait_for="#registry")
    assert page.locator("#nav-models").is_visible() and not page.locator("#nav-inbox").is_visible()
    old = page.locator(f"#registry article[data-version={OLD}]")
    expect(old.locator(".badge.active")).to_have_text("在用")
    assert "ana.trainer" in old.locator(".who").inner_text() and "2025.2" in old.locator(".who").inner_text()
    assert "train cut-offs" in old.locator(".window").inner_text()
    scorers = old.locator("table.metrics tbody tr")
    assert [scorers.nth(i).get_attribute("data-scorer") for i in range(scorers.count())] == [
        "model", "rules", "income_rank", "logistic"]  # fmt: skip
    for scorer in ("model", "rules", "income_rank", "logistic"):  # every baseline with its interval
        roc = old.locator(f"tr[data-scorer={scorer}] td[data-metric=roc_auc]")
        low, high = roc.locator(".ci").inner_text().split("–")
        assert float(low) <= float(roc.inner_text().split()[0]) <= float(high)
    assert old.locator("tr[data-scorer=rules] td").first.inner_text() == "仅规则"
    assert page.locator(f"#registry article[data-version={NEW}] .badge").count() == 0
    shot(page, "models-1-registry")


def test_the_drift_alarm_shows_first_and_the_live_monitoring_is_drawn_as_charts(wf, watched, page, shot):
    log_in(page, wf.stack.api_url, "ana.console", wait_for="#registry")
    alarms = page.locator("#alarms")
    expect(alarms).to_be_visible()
    drifted = alarms.locator(f"li[data-county='{DRIFTED}'][data-on=income_to_line]")
    assert "楚雄市" in drifted.inner_text() and "收入/监测线" in drifted.inner_text()
    assert alarms.locator(f"li[data-county='{STEADY}']").count() == 0
    assert page.locator("#county").input_value() == DRIFTED  # the alarmed county is shown first
    newest, earlier = this_month(0), this_month(1)
    cell = page.locator(f"#psi rect[data-feature=income_to_line][data-month='{newest}']")
    assert "high" in cell.get_attribute("class") and float(cell.get_attribute("data-psi")) > 0.25
    before = page.locator(f"#psi rect[data-feature=income_to_line][data-month='{earlier}']")
    assert "low" in before.get_attribute("class") and float(before.get_attribute("data-psi")) < 0.1
    assert "high" in page.locator(f"#psi rect[data-feature=score][data-month='{newest}']").get_attribute("class")
    red = page.locator(f"#level-mix g[data-month='{newest}'] rect[data-level=red]")
    assert red.get_attribute("data-count") == str(HOUSEHOLDS)
    shot(page, "models-2-drift-alarm")

    page.select_option("#county", STEADY)
    cells = page.locator("#psi rect.cell[data-psi]:not([data-psi=''])")
    assert cells.count() >= 3 * 2 and page.locator("#psi rect.cell.high").count() == 0
    assert page.locator(f"#level-mix g[data-month='{newest}']").get_attribute("data-households") == str(HOUSEHOLDS)
    bands = page.locator("#calibration tbody tr")
    cells = [bands.nth(i).locator("td") for i in range(bands.count())]
    decided = sum(int(row.nth(1).inner_text()) + int(row.nth(2).inner_text()) for row in cells)
    assert decided == 7 and page.locator("#calibration-chart g.band").count() == bands.count()
    assert page.locator("#calibration-chart circle.rate").count() >= 1
    assert "已认定的3户中：模型发现100.0%" in page.locator("#recall").inner_text()
    page.set_viewport_size({"width": 1200, "height": 900})
    shot(page, "models-3-monitoring-wide")


def test_a_versions_page_shows_its_details_its_report_and_the_plots_drawn_from_the_png(wf, watched, page, shot):
    log_in(page, wf.stack.api_url, "ana.console", wait_for="#registry")
    page.click(f"#registry article[data-version={OLD}] a.report-link")
    page.wait_for_selector("#report .md")
    for name in ("reliability.png", "recall_at_budget.png", "county_recall.png"):
        expect(page.locator(f"canvas[data-plot='{name}']")).to_have_attribute("data-drawn", DRAWN)
    assert page.locator("#report table.md").count() >= 2 and "元谋县 (532328)" in page.locator("#report").inner_text()
    assert page.locator("[data-fact=trained_by]").inner_text() == "ana.trainer"
    expect(page.locator("#monitoring h2")).to_contain_text(OLD)
    shot(page, "models-4-version-report")


def test_activating_a_version_never_shadowed_says_its_effect_is_unknown_and_cancelling_changes_nothing(
    wf, watched, page, shot
):
    log_in(page, wf.stack.api_url, "ana.console", wait_for="#registry")
    page.click(f"#registry article[data-version={NEW}] button[data-action=activate]")
    effect = page.locator("dialog#confirm #effect")
    expect(effect).to_contain_text(f"影响未知：{NEW}没有在影子运行")
    shot(page, "models-5-activate-unknown", full_page=False)
    page.click("#confirm-cancel")
    expect(page.locator("dialog#confirm")).to_have_count(0)
    assert active_version(wf, watched) == OLD


def test_a_candidate_in_shadow_is_activated_behind_the_effect_its_shadow_report_names_and_rolled_back(
    wf, watched, page, shot
):
    log_in(page, wf.stack.api_url, "ana.console", wait_for="#registry")
    page.click(f"#registry article[data-version={NEW}] button[data-action=shadow]")
    expect(page.locator("dialog#confirm #effect")).to_contain_text("影子运行不改变任何等级或预警")
    page.click("#confirm-ok")
    expect(page.locator(f"#registry article[data-version={NEW}] .badge.shadow")).to_be_visible()
    publish_shadow(wf.stack.bootstrap, [
        *shadow_scores(NEW, OLD, STEADY, {("green", "red"): 1240, ("yellow", "red"): 0, ("green", "green"): 500}),
        *shadow_scores(NEW, OLD, DRIFTED, {("red", "yellow"): 85, ("yellow", "green"): 12}),
    ])  # fmt: skip
    page.reload()
    row = page.locator(f"#shadow-counties tr[data-county='{STEADY}']")
    expect(row).to_be_visible()
    assert [row.locator("td").nth(i).inner_text() for i in (1, 2, 3)] == ["1,740", "1,240", "1,240"]
    assert page.locator("#shadow-counties tbody tr").first.get_attribute("data-county") == STEADY
    shot(page, "models-6-shadow-report")

    page.click(f"#registry article[data-version={NEW}] button[data-action=activate]")
    effect = page.locator("dialog#confirm #effect")
    expect(effect.locator(f"li[data-county='{STEADY}']")).to_have_text("元谋县：1,240户将转为红色")
    assert effect.locator(f"li[data-county='{DRIFTED}']").inner_text() == "楚雄市：85户将转为黄色，12户将转为绿色"
    assert "按影子报告（1,837户的最新评分）" in effect.inner_text()
    shot(page, "models-7-activate-named-effect", full_page=False)
    page.click("#confirm-ok")
    expect(page.locator(f"#registry article[data-version={NEW}] .badge.active")).to_be_visible()
    assert active_version(wf, watched) == NEW

    page.click("#rollback")
    effect = page.locator("dialog#confirm #effect")
    expect(effect).to_contain_text(f"将重新启用{OLD}（当前在用{NEW}）")
    assert f"影响未知：{OLD}没有在影子运行" in effect.inner_text()
    page.click("#confirm-ok")
    expect(page.locator(f"#registry article[data-version={OLD}] .badge.active")).to_be_visible()
    assert active_version(wf, watched) == OLD


def test_the_pages_switch_to_english(wf, watched, page, shot):
    log_in(page, wf.stack.api_url, "ana.console", wait_for="#registry")
    page.click("#lang")
    expect(page.locator("#registry h2")).to_contain_text("Versions")
    assert "income / line" in page.locator("#alarms").inner_text()
    assert (
        page.locator(f"#registry article[data-version={OLD}] tr[data-scorer=rules] td").first.inner_text()
        == "rules only"
    )
    shot(page, "models-8-english")
    page.click("#lang")


def test_a_county_analyst_sees_only_their_county_and_cannot_roll_a_model_out(wf, watched, page, shot):
    log_in(page, wf.stack.api_url, "ana.yuanmou", wait_for="#registry")
    assert page.locator("#national-only").is_visible() and page.locator("button[data-action]").count() == 0
    options = page.locator("#county option")
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == [STEADY]
    assert page.locator("#alarms li[data-kind=drift]").count() == 0  # 楚雄市's drift is not theirs to see
    assert page.locator("#level-mix").is_visible() and "元谋县" in page.locator("#psi figcaption").inner_text()
    shot(page, "models-9-county-analyst")


def test_a_township_worker_has_no_models_page(wf, watched, page):
    log_in(page, wf.stack.api_url, "wang.models", wait_for="#inbox")
    assert not page.locator("#nav-models").is_visible()
    page.goto(f"{wf.stack.api_url}/#/models")
    expect(page.locator("#refused")).to_have_text("该记录不在您的辖区内")
