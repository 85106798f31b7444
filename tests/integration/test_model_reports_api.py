"""What the analysts' pages read besides the registry: a version's training report and its plots (only those, only
for analysts), the shadow report's level changes by county inside the caller's jurisdiction, and the version a
roll-back would re-activate."""

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from services.common.kafka_auth import client_options
from services.scoring.model import activation_message
from tests.clients import create_user
from tests.model_watch import publish_shadow, shadow_scores, train_version
from tests.workflow_stack import poll, start_workflow_stack

pytestmark = pytest.mark.integration
FIRST, SECOND = "rep-1", "rep-2"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("model-reports"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def versions(wf):
    folder = Path(wf.stack.env["MODEL_DIR"])
    train_version(folder, FIRST, seed=4)
    train_version(folder, SECOND, seed=5)
    analyst = create_user(wf.stack, "ana.reports", "analyst", "")
    yield analyst
    httpx.delete(f"{wf.stack.api_url}/models/shadow", headers=analyst, timeout=30)
    producer = KafkaProducer(
        bootstrap_servers=wf.stack.bootstrap, **client_options(), acks="all"
    )  # others expect rules only
    producer.send("models.activations", activation_message(None, "tests", datetime.now(UTC))).get(30)
    producer.close()


def test_an_analyst_reads_a_versions_report_and_its_plots_and_nothing_else_of_its_folder(wf, versions):
    api, analyst = wf.stack.api_url, versions
    report = httpx.get(f"{api}/models/{FIRST}/report", headers=analyst)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/markdown")
    assert report.text.startswith(f"# Risk model {FIRST}") and "![reliability.png](reliability.png)" in report.text
    for name in ("reliability.png", "recall_at_budget.png", "county_recall.png"):
        plot = httpx.get(f"{api}/models/{FIRST}/report/{name}", headers=analyst)
        assert plot.status_code == 200 and plot.headers["content-type"] == "image/png" and plot.content[:8] == PNG
    for name in ("model.joblib", "manifest.json", "report.md", "reference-logistic.joblib", "..%2Fmanifest.json"):
        refused = httpx.get(f"{api}/models/{FIRST}/report/{name}", headers=analyst)
        assert refused.status_code == 404, name
    for version in ("no-such", "..", ".", "%2E%2E"):
        assert httpx.get(f"{api}/models/{version}/report", headers=analyst).status_code == 404, version
        assert httpx.get(f"{api}/models/{version}/report/reliability.png", headers=analyst).status_code == 404


def test_only_analysts_and_admins_read_the_reports(wf, versions):
    api = wf.stack.api_url
    for role, region in (("township_worker", "532328101"), ("county_supervisor", "532328")):
        headers = create_user(wf.stack, f"rep.{role}", role, region)
        assert httpx.get(f"{api}/models/{FIRST}/report", headers=headers).status_code == 403
        assert httpx.get(f"{api}/models/{FIRST}/report/reliability.png", headers=headers).status_code == 403
    assert httpx.get(f"{api}/models/{FIRST}/report/reliability.png").status_code == 401
    county_analyst = create_user(wf.stack, "rep.county", "analyst", "532328")  # the model is national: its report too
    assert httpx.get(f"{api}/models/{FIRST}/report", headers=county_analyst).status_code == 200


def test_the_shadow_report_says_where_households_would_change_level_inside_the_callers_jurisdiction(wf, versions):
    api, analyst = wf.stack.api_url, versions
    httpx.post(f"{api}/models/{FIRST}/activate", headers=analyst, timeout=30).raise_for_status()
    httpx.post(f"{api}/models/{SECOND}/shadow", headers=analyst, timeout=30).raise_for_status()
    publish_shadow(wf.stack.bootstrap, [
        *shadow_scores(SECOND, FIRST, "532328", {("green", "red"): 30, ("yellow", "yellow"): 5}),
        *shadow_scores(SECOND, FIRST, "532301", {("red", "green"): 4}),
        *shadow_scores("someone-else", FIRST, "532301", {("green", "red"): 50}),
    ])  # fmt: skip
    url = f"{api}/models/shadow/report"
    report = poll(url, analyst, lambda b: b["households"] == 39)
    assert report["region"] == "" and [c["county"] for c in report["by_county"]] == ["532328", "532301"]
    yuanmou, chuxiong = report["by_county"]
    assert (yuanmou["county_name"], yuanmou["households"], yuanmou["changed"], yuanmou["to_red"]) == (
        "元谋县",
        35,
        30,
        30,
    )
    assert (chuxiong["county_name"], chuxiong["to_green"]) == ("楚雄市", 4)
    mine = httpx.get(url, headers=create_user(wf.stack, "rep.chuxiong", "analyst", "532301"), timeout=60).json()
    assert mine["households"] == 39 and [c["county"] for c in mine["by_county"]] == ["532301"]
    narrowed = httpx.get(url, headers=analyst, params={"region": "532328"}, timeout=60).json()
    assert [c["county"] for c in narrowed["by_county"]] == ["532328"] and narrowed["region"] == "532328"
    outside = httpx.get(url, headers=create_user(wf.stack, "rep.beijing", "analyst", "11"), params={"region": "53"})
    assert outside.status_code == 403


def test_the_registry_names_the_version_a_roll_back_would_activate(wf, versions):
    api, analyst = wf.stack.api_url, versions
    httpx.post(f"{api}/models/{FIRST}/activate", headers=analyst, timeout=30).raise_for_status()
    httpx.post(f"{api}/models/{SECOND}/activate", headers=analyst, timeout=30).raise_for_status()
    listed = httpx.get(f"{api}/models", headers=analyst, timeout=30).json()
    assert (listed["active"], listed["rollback_to"]) == (SECOND, FIRST)
    rolled = httpx.post(f"{api}/models/rollback", headers=analyst, timeout=30).json()
    assert rolled["version"] == listed["rollback_to"]
    assert httpx.get(f"{api}/models", headers=analyst, timeout=30).json()["rollback_to"] == SECOND
