"""A household panel file becomes v1 events and labels through a mapping, without code; bad rows are listed."""

import csv
import json
from pathlib import Path

import pytest

from services.analytics.cli import main
from services.analytics.labels import read_outcomes
from services.common.policy import PolicyBook
from services.ingest.validation import validate_event

MAPPING = """
source = "/survey/county-panel"
household_id = "户编码"
period = "年份"
region_code = "532328101001"

[registration]
members = "家庭人口"
labourers = "劳动力"

[constants]
category = "ordinary"

[incomes]
wage = "工资性收入"
agriculture = "经营性收入"

[line]
quantile = 0.34
"""
HEADER = ["户编码", "年份", "家庭人口", "劳动力", "工资性收入", "经营性收入"]
ROWS = [
    ["A", "2023", "4", "2", "30000", "6000"],  # 9,000 a person
    ["B", "2023", "2", "1", "8000", ""],  # 4,000 a person: the poorest third
    ["C", "2023", "3", "2", "40000", "2000"],  # 14,000 a person
    ["A", "2024", "4", "2", "20000", "0"],  # 5,000 a person: the poorest third now
    ["B", "2024", "33", "1", "9000", "0"],  # more members than the contract allows
    ["C", "2024", "3", "2", "45000", "0"],
]


def _files(tmp_path: Path, rows=ROWS) -> tuple[Path, Path]:
    panel, mapping = tmp_path / "panel.csv", tmp_path / "panel.toml"
    with panel.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    mapping.write_text(MAPPING, encoding="utf-8")
    return panel, mapping


def _import(tmp_path: Path, *extra: str) -> None:
    panel, mapping = _files(tmp_path)
    main(["import-panel", str(panel), "--mapping", str(mapping), "--out", str(tmp_path / "events.jsonl"),
          "--labels", str(tmp_path / "labels.csv"), "--policy-out", str(tmp_path / "policy"), *extra])  # fmt: skip


def test_a_yearly_panel_becomes_registrations_yearly_income_reports_and_labels_against_its_quantile_line(
    tmp_path: Path, capsys
):
    _import(tmp_path, "--max-rejects", "1")
    counts = json.loads(capsys.readouterr().out)
    assert counts["households"] == 3 and counts["rejected"] == 1 and counts["lines"] == {"2023": 7400.0, "2024": 8400.0}
    docs = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    incomes = [d["data"] for d in docs if d["type"] == "income.reported"]
    assert {"period": "2023", "amount": 30000, "income_source": "wage", "household_id": "A"} in incomes
    assert all(validate_event(doc, b"k") for doc in docs)  # every event is valid v1
    assert {d["time"][:10] for d in docs} == {"2023-12-31", "2024-12-31"}  # known when the period ends
    line = PolicyBook.load(tmp_path / "policy").for_region("532328101001", 2023).values.monitoring_line
    assert float(line) == counts["lines"]["2023"]
    outcomes = {(o.household_id, o.as_of.year): o.outcome for o in read_outcomes(tmp_path / "labels.csv")}
    assert outcomes == {("A", 2023): "above_line", ("B", 2023): "below_line", ("C", 2023): "above_line",
                        ("A", 2024): "below_line", ("C", 2024): "above_line"}  # fmt: skip


def test_a_record_with_33_members_is_listed_by_line_household_and_field_and_the_import_goes_on(tmp_path: Path):
    _import(tmp_path, "--max-rejects", "1")
    with (tmp_path / "events.jsonl.rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert len(rejects) == 1 and rejects[0]["line"] == "6" and rejects[0]["household_id"] == "B"
    assert rejects[0]["field"] == "members" and "30" in rejects[0]["reason"]


def test_more_rejects_than_allowed_stop_the_import_naming_the_first(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as stopped:
        _import(tmp_path)
    assert stopped.value.code == 2
    assert "line 6, household B, members" in capsys.readouterr().err
    assert (tmp_path / "events.jsonl.rejects.csv").read_text(encoding="utf-8").count("\n") == 2


def test_training_leaves_out_invalid_records_up_to_max_rejects_and_names_line_household_and_field(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "models"))
    events, labels = tmp_path / "events.jsonl", tmp_path / "labels.csv"
    main(["simulate", "--households", "300", "--seed", "2", "--months", "36", "--out", str(events),
          "--labels", str(labels)])  # fmt: skip
    lines = events.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[0])
    bad["data"]["members"] = 33
    events.write_text("\n".join([json.dumps(bad), *lines[1:]]) + "\n", encoding="utf-8")
    common = ["train", "--events", str(events), "--labels", str(labels), "--kinds", "logistic", "--bootstrap", "10"]
    with pytest.raises(SystemExit):
        main(common)
    assert f"line 1, household {bad['data']['household_id']}, members" in capsys.readouterr().err
    main([*common, "--max-rejects", "1", "--version", "skipping-1"])
    assert "registered skipping-1" in capsys.readouterr().out
    report = (tmp_path / "events.jsonl.rejects.csv").read_text(encoding="utf-8")
    assert f"1,{bad['data']['household_id']},members," in report
