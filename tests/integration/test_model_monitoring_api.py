"""Analysts watch a model from its scores and the townships' verdicts, through the API: drift per county and month
against its training reference, calibration by probability band, and an alarm where the feed drifted."""

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from services.common.model_activation import Activation
from services.common.scores import Figures, Monitoring, Reason, Score
from services.scoring.features import FEATURES
from services.scoring.model import ModelRegistry
from tests.clients import create_user, login
from tests.models import synthetic_rows, train_toy_model
from tests.workflow_stack import poll, start_workflow_stack

pytestmark = pytest.mark.integration
STEADY, DRIFTED = "532328", "532301"  # 元谋县 gets households like the training rows; 楚雄市 a much poorer feed
HOUSEHOLDS = 250  # a county-month under MONITORING_MIN_HOUSEHOLDS (200) never alarms: its PSI would be noise


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("monitoring"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def model(wf):
    folder = Path(wf.stack.env["MODEL_DIR"])
    manifest = train_toy_model(folder, "mon-1")
    activation = Activation(version="mon-1", sha256=manifest.sha256, activated_by="t", activated_at=datetime.now(UTC))
    return ModelRegistry(folder).load(activation)


def _bins(manifest, row: list[float], probability: float) -> Monitoring:
    ref = manifest.reference
    bins = [int(np.searchsorted(ref["features"][name]["edges"], row[FEATURES.index(name)], side="right"))
            for name in manifest.features]  # fmt: skip
    score_bin = int(np.searchsorted(ref["score"]["edges"], probability, side="right"))
    return Monitoring(month=datetime.now(UTC).strftime("%Y-%m"), bins=bins, score_bin=score_bin)


def _score(model, county: str, n: int, drifted: bool) -> Score:
    manifest = model.manifest
    rows, _ = synthetic_rows(1, seed=n + (1000 if drifted else 0))
    probability = 0.95 if drifted else float(model.probabilities(np.asarray(rows))[0])
    monitoring = _bins(manifest, rows[0], probability)
    if drifted:  # every household far below the training rows' incomes
        monitoring = monitoring.model_copy(update={"bins": [0, *monitoring.bins[1:]]})
    reason = Reason(code="model_risk", level="yellow", message_zh="模型", message_en="model", evidence={"p": 0.35})
    return Score(
        score_id=uuid.uuid4().hex, household_id=f"HM-{county}-{n}", region_code=f"{county}101001", level="yellow",
        reasons=[reason], probability=probability, policy_version="2025.2", model_version=manifest.version,
        scoring_mode="rules_and_model", caused_by=["/test#m"], event_time=datetime.now(UTC),
        scored_at=datetime.now(UTC),
        figures=Figures(members=4, labourers=2, income_12m=40000, per_capita_income=10000, months_reported=12,
                        monitoring_line=8700),
        monitoring=monitoring,
    )  # fmt: skip


def _move(wf, headers, alert, to, **fields):
    body = {"to": to, "note": "", "expected_version": alert["version"], **fields}
    response = httpx.post(f"{wf.stack.api_url}/alerts/{alert['id']}/transitions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_drift_per_county_and_calibration_by_verdicts_are_answered_and_the_drifted_county_raises_the_alarm(wf, model):
    api = wf.stack.api_url
    analyst = create_user(wf.stack, "mon.analyst", "analyst", "53")
    worker = create_user(wf.stack, "mon.worker", "township_worker", f"{STEADY}101")
    supervisor = create_user(wf.stack, "mon.county", "county_supervisor", STEADY)
    steady = [_score(model, STEADY, n, drifted=False) for n in range(HOUSEHOLDS)]
    drifted = [_score(model, DRIFTED, n, drifted=True) for n in range(HOUSEHOLDS)]
    wf.publish(*steady, *drifted)
    wf.publish(steady[0])  # a redelivered score counts nothing twice
    counted = lambda b: sum(r["households"] for r in b["drift"]) >= 2 * HOUSEHOLDS  # noqa: E731
    found = poll(f"{api}/models/mon-1/monitoring", analyst, counted, region="5323", months=1)
    rows = {row["county"]: row for row in found["drift"]}
    assert rows[STEADY]["households"] == HOUSEHOLDS and rows[DRIFTED]["households"] == HOUSEHOLDS
    assert rows[STEADY]["county_name"] == "元谋县" and rows[STEADY]["levels"]["yellow"] == HOUSEHOLDS
    assert rows[STEADY]["feature_psi"]["income_to_line"] < 0.25 < rows[DRIFTED]["feature_psi"]["income_to_line"]
    assert rows[DRIFTED]["score_psi"] > 0.25 and rows[STEADY]["raised_by"]["model_only"] == HOUSEHOLDS
    alarmed = {(a["county"], a["on"]) for a in found["alarms"] if a["kind"] == "drift"}
    assert (DRIFTED, "income_to_line") in alarmed and not any(county == STEADY for county, _ in alarmed)

    admin = login(wf.stack)  # analysts read no cases (issue 25): the county's alerts are found as the admin
    alerts = poll(f"{api}/alerts", admin, lambda b: b["total"] >= HOUSEHOLDS, region_code=STEADY, limit=10)["items"]
    for alert in alerts[:4]:  # four dismissed at the door
        _move(wf, worker, alert, "dismissed", reason="income above the line after the visit")
    visit = {"visited_at": "2026-12-01T09:00:00+08:00", "consent": True}
    reviewing = [_move(wf, worker, _move(wf, worker, a, "verifying"), "reviewing", **visit) for a in alerts[4:7]]
    time.sleep(3.5)  # the 3-second public notice of this stack's policy
    for alert in reviewing:
        _move(wf, supervisor, alert, "confirmed", category="marginal")
    confirmed = lambda b: sum(x["confirmed"] for x in b["calibration"]["bands"]) == 3  # noqa: E731
    found = poll(f"{api}/models/mon-1/monitoring", analyst, confirmed, region=STEADY, months=1)
    bands = found["calibration"]["bands"]
    totals = {key: sum(band[key] for band in bands) for key in ("confirmed", "dismissed", "open", "overdue")}
    assert totals == {"confirmed": 3, "dismissed": 4, "open": HOUSEHOLDS - 7, "overdue": 0}
    for band in bands:  # each band's mean predicted probability lies in the band
        low, high = map(float, band["band"].split("–"))
        assert low <= band["predicted"] <= high and (band["confirm_rate_interval"] is None) == (band["confirm_rate"]
                                                                                                  is None)  # fmt: skip
    assert found["calibration"]["recall_of_confirmed"] == {"confirmed": 3, "by_model": 1.0, "by_rules": 0.0,
                                                           "by_model_only": 1.0}  # fmt: skip


def test_monitoring_stays_inside_the_analysts_jurisdiction_and_names_unknown_versions(wf, model):
    api = wf.stack.api_url
    outsider = create_user(wf.stack, "mon.beijing", "analyst", "11")
    assert httpx.get(f"{api}/models/mon-1/monitoring", params={"region": "5323"}, headers=outsider).status_code == 403
    mine = httpx.get(f"{api}/models/mon-1/monitoring", headers=outsider).json()
    assert mine["region"] == "11" and mine["drift"] == [] and mine["calibration"]["bands"] == []
    missing = httpx.get(f"{api}/models/no-such/monitoring", headers=outsider)
    assert missing.status_code == 404 and "not registered" in missing.json()["detail"]
