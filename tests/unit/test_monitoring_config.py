"""The operator's dashboard and alert rules read only series the services export, in PromQL that parses, and the
rules are complete (promtool checks them too where it is installed)."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client import REGISTRY
from promql_parser import parse

from services.common.settings import REPO_ROOT

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "dashboards" / "shouwang.json"
RULES = sorted((REPO_ROOT / "deploy" / "prometheus").glob("*rules*.yml"))
METRIC_MODULES = (
    "services.ingest.app",
    "services.scoring.metrics",
    "services.alerts.deadletters",
    "services.alerts.webhooks",
    "services.api.model_monitoring",
    "services.api.request_metrics",
    "services.api.redis_memory",
    "services.common.kafka",
)
SERIES = re.compile(r"\b(shouwang_[a-z0-9_]+)")


def exported() -> set[str]:
    """Every series name the services' metric modules register (with the suffixes Prometheus exposes)."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    return {f"{m.name}{end}" for m in REGISTRY.collect() for end in suffixes.get(m.type, ("",))}


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def rules() -> list[dict]:
    return [rule for path in RULES for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def test_every_dashboard_panel_and_alert_rule_is_promql_that_parses():
    queries = [*dashboard_queries(), *(rule["expr"] for rule in rules())]
    assert len(queries) >= 20
    for query in queries:
        parse(query)  # raises on a syntax error, naming it


def test_the_dashboard_and_rules_read_only_series_the_services_export():
    known = exported()
    used = {name for query in [*dashboard_queries(), *(r["expr"] for r in rules())] for name in SERIES.findall(query)}
    assert used - known == set()
    for wanted in ("shouwang_consumer_lag", "shouwang_model_feature_psi", "shouwang_model_verdict_confirm_rate",
                   "shouwang_webhook_deliveries_total", "shouwang_api_request_seconds_bucket",
                   "shouwang_alerts_dead_letters_total", "shouwang_scoring_batch_seconds_bucket"):  # fmt: skip
        assert wanted in used, f"the dashboard or rules should show {wanted}"


def test_every_alert_rule_has_a_severity_a_summary_and_a_description():
    found = rules()
    assert {"ConsumerLagGrowing", "AlertsDeadLetters", "ModelDrift", "WebhooksGivingUp"} <= {r["alert"] for r in found}
    for rule in found:
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]


PROMTOOL = REPO_ROOT / ".cache" / "promtool" / "promtool"


@pytest.mark.skipif(not PROMTOOL.exists() and shutil.which("promtool") is None,
                    reason="promtool is not installed (make promtool builds it)")  # fmt: skip
def test_promtool_accepts_the_alert_rules():
    tool = str(PROMTOOL) if PROMTOOL.exists() else "promtool"
    done = subprocess.run([tool, "check", "rules", *map(str, RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_provisions_the_dashboard_from_the_prometheus_data_source():
    source = yaml.safe_load((REPO_ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    (data,) = source["datasources"]
    uids = {
        panel["datasource"]["uid"] for panel in json.loads(DASHBOARD.read_text())["panels"] if "datasource" in panel
    }
    assert uids == {data["uid"]} and data["type"] == "prometheus"
