"""Real development panels with covariates beyond income reach the model as the stream's own events, and where they
carry information (hospital stays in the RAND Health Insurance Experiment) the model beats the income rank."""

import json
from pathlib import Path

import pandas
import pytest

from services.analytics.cli import main
from services.common.settings import REPO_ROOT

PANELS = REPO_ROOT / "deploy" / "mappings" / "panels"


def _import(folder: Path, name: str, mapping: str, *extra: str) -> dict:
    main(["import-panel", str(folder / f"{name}.csv"), "--mapping", str(PANELS / mapping), "--out",
          str(folder / f"{name}.jsonl"), "--labels", str(folder / f"{name}-labels.csv"), "--policy-out",
          str(folder / f"{name}-policy"), *extra])  # fmt: skip
    return {}


@pytest.fixture(scope="module")
def rand(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rand")
    main(["dev-data", "rand-hie", "--out", str(folder / "rand.csv")])
    _import(folder, "rand", "rand-hie.toml", "--max-rejects", "20")
    return folder


def test_rand_family_years_bring_their_medical_bills_and_hospital_stays(rand):
    docs = [json.loads(line) for line in (rand / "rand.jsonl").read_text(encoding="utf-8").splitlines()]
    bills = [d["data"] for d in docs if d["type"] == "medical.expense.incurred"]
    assert len({d["data"]["household_id"] for d in docs}) > 1700 and len(bills) > 5000
    assert all(b["out_of_pocket"] <= b["total_cost"] for b in bills) and sum(b["inpatient"] for b in bills) > 300


def test_on_rand_the_model_beats_the_income_rank_out_of_time_through_hospital_stays(rand, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_DIR", str(rand / "models"))
    main(["train", "--events", str(rand / "rand.jsonl"), "--labels", str(rand / "rand-labels.csv"), "--policy-dir",
          str(rand / "rand-policy"), "--test-from", "1979-01-01", "--version", "rand-1", "--bootstrap", "30",
          "--max-leaf-nodes", "4", "--max-iter", "60"])  # fmt: skip
    summary = json.loads((rand / "models" / "rand-1" / "evaluations" / "from-1979-01-01" / "summary.json").read_text())
    scorers = summary["scorers"]
    model, rank = scorers["model rand-1"]["roc_auc"], scorers["rank by income after rigid spending"]["roc_auc"]
    assert model > rank + 0.02, (model, rank)
    assert "inpatient_12m" in json.loads((rand / "models" / "rand-1" / "manifest.json").read_text())["features"]


@pytest.mark.parametrize(("name", "mapping"), [("gsoep", "gsoep-rwm5yr.toml"), ("psid", "psid-7682.toml")])
def test_the_other_development_panels_import_whole_with_their_mappings(tmp_path: Path, name, mapping, capsys):
    main(["dev-data", name, "--out", str(tmp_path / f"{name}.csv")])
    capsys.readouterr()
    _import(tmp_path, name, mapping)
    counts = json.loads(capsys.readouterr().out)
    assert counts["rejected"] == 0 and counts["households"] == {"gsoep": 6127, "psid": 595}[name]


def test_the_malawi_extract_becomes_rounds_with_droughts_a_year_before_and_a_fixed_food_score_line(tmp_path: Path):
    frame = pandas.DataFrame({"HHID": [1, 1], "year": [2010.0, 2013.0], "FCS": [40.0, 30.5], "hhsize": [5, 5],
                              "dependency": [0.25, 0.25], "drought": [0, 1], "droughtlag": [1, 0], "flood": [0, 0],
                              "TLUlost": [0.0, 0.5], "incmlft": [0, 1], "wealth_index": [2, 2],
                              "stratum": [4, 4]})  # fmt: skip
    frame.to_stata(tmp_path / "Data.dta", write_index=False)
    main(["dev-data", "malawi", "--source", str(tmp_path / "Data.dta"), "--out", str(tmp_path / "malawi.csv")])
    _import(tmp_path, "malawi", "malawi-ihps.toml")
    docs = [json.loads(line) for line in (tmp_path / "malawi.jsonl").read_text(encoding="utf-8").splitlines()]
    disasters = sorted((d["data"]["date"], d["data"]["hazard"]) for d in docs if d["type"] == "disaster.loss.reported")
    assert disasters == [("2009-12-31", "drought"), ("2013-12-31", "drought"), ("2013-12-31", "other")]
    registrations = [d["data"] for d in docs if d["type"] == "household.registered"]
    assert registrations[0]["members"] == 5 and registrations[0]["labourers"] == 4
    labels = (tmp_path / "malawi-labels.csv").read_text(encoding="utf-8")
    assert "1,2010-12-31,above_line" in labels and "1,2013-12-31,below_line" in labels  # FCS 30.5 ≤ 35
