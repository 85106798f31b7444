"""A panel row brings every kind of event the stream scores, declared in the mapping: bills, disasters, incomes per
person, fixed lines; a column the mapping names but the file lacks stops the import before anything is written."""

import csv
import json
from pathlib import Path

import pytest

from services.analytics.cli import main
from services.analytics.labels import read_outcomes
from services.ingest.validation import validate_event

MAPPING = """
source = "/survey/shock-panel"
household_id = "hh"
period = "round"
region_code = "990000000000"
income_per_person = true

[registration]
members = "size"
labourers = "workers"

[constants]
category = "ordinary"

[incomes]
agriculture = "farm_pp"
transfer = "remit_pp"

[[medical]]
columns = { out_of_pocket = "health", total_cost = "health_total", inpatient = "nights" }
constants = { illness = "other" }

[[disasters]]
columns = { hazard = "shock", economic_loss = "loss" }
constants = { house_damage = "none" }
codes = { hazard = { "1" = "drought", "2" = "flood" } }

[[disasters]]
when = "drought_last_year"
months_before_end = 12
constants = { hazard = "drought", house_damage = "none", economic_loss = 0 }

[line]
value = 1000
"""
HEADER = ["hh", "round", "size", "workers", "farm_pp", "remit_pp", "health", "health_total", "nights", "shock", "loss",
          "drought_last_year"]  # fmt: skip


def _import(tmp_path: Path, rows: list[list[str]], mapping: str = MAPPING, *extra: str) -> None:
    panel = tmp_path / "panel.csv"
    with panel.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    (tmp_path / "panel.toml").write_text(mapping, encoding="utf-8")
    main(["import-panel", str(panel), "--mapping", str(tmp_path / "panel.toml"), "--out",
          str(tmp_path / "events.jsonl"), "--labels", str(tmp_path / "labels.csv"), "--policy-out",
          str(tmp_path / "policy"), *extra])  # fmt: skip


def _events(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_row_brings_its_bill_its_coded_disaster_and_last_years_drought_dated_inside_their_periods(tmp_path: Path):
    _import(tmp_path, [["A", "2020", "4.0", "2", "900.456", "150", "800", "1200", "2", "1", "3000", "1"],
                       ["A", "2021", "4", "2", "1100", "", "0", "0", "0", "", "", "0"]])  # fmt: skip
    docs = _events(tmp_path)
    assert all(validate_event(doc, b"k") for doc in docs)
    by_type = {(d["type"], d["time"][:4]): d["data"] for d in docs}
    assert by_type[("income.reported", "2020")] in ({"household_id": "A", "period": "2020", "amount": 4 * 150,
                                                     "income_source": "transfer"},
                                                    {"household_id": "A", "period": "2020", "amount": 3601.82,
                                                     "income_source": "agriculture"})  # fmt: skip
    incomes = sorted(d["data"]["amount"] for d in docs if d["type"] == "income.reported" and d["time"][:4] == "2020")
    assert incomes == [600, 3601.82]  # per person × 4 members, rounded to the fen
    bill = next(d for d in docs if d["type"] == "medical.expense.incurred")
    assert bill["data"] == {"household_id": "A", "date": "2020-12-31", "out_of_pocket": 800, "total_cost": 1200,
                            "inpatient": True, "illness": "other"}  # fmt: skip
    disasters = sorted((d["data"]["date"], d["data"]["hazard"]) for d in docs if d["type"] == "disaster.loss.reported")
    assert disasters == [("2019-12-31", "drought"), ("2020-12-31", "drought")]  # the 2021 row had none of them
    assert {d["time"] for d in docs} == {"2020-12-31T00:00:00+08:00", "2021-12-31T00:00:00+08:00"}
    outcomes = {(o.as_of.year, o.outcome) for o in read_outcomes(tmp_path / "labels.csv")}
    assert outcomes == {(2020, "below_line"), (2021, "above_line")}  # (4,202 − 800) / 4 < 1,000 ≤ 1,100


def test_a_value_outside_its_code_table_or_unreadable_is_a_reject_naming_line_field_and_reason(tmp_path: Path):
    rows = [["A", "2020", "4", "2", "900", "", "", "", "", "7", "10", ""],
            ["B", "2020", "3", "1", "900", "", "lots", "", "", "", "", ""],
            ["C", "2020", "3", "1", "900", "", "", "", "", "", "", ""]]  # fmt: skip
    _import(tmp_path, rows, MAPPING, "--max-rejects", "2")
    with (tmp_path / "events.jsonl.rejects.csv").open(encoding="utf-8") as handle:
        rejects = [(r["line"], r["household_id"], r["field"], r["reason"]) for r in csv.DictReader(handle)]
    assert rejects[0][:3] == ("2", "A", "hazard") and "'7'" in rejects[0][3] and "drought" in rejects[0][3]
    assert rejects[1][:3] == ("3", "B", "out_of_pocket") and "not a number" in rejects[1][3]
    assert {d["data"]["household_id"] for d in _events(tmp_path)} == {"C"}


def test_a_column_the_mapping_names_but_the_file_lacks_stops_the_import_before_anything_is_written(
    tmp_path: Path, capsys
):
    mapping = MAPPING.replace('inpatient = "nights"', 'inpatient = "hospital_nights"')
    with pytest.raises(SystemExit) as stopped:
        _import(tmp_path, [["A", "2020", "4", "2", "900", "", "", "", "", "", "", ""]], mapping)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "'hospital_nights' (medical[0].columns.inpatient)" in error and "its columns: hh, round" in error
    assert not (tmp_path / "events.jsonl").exists() and not (tmp_path / "events.jsonl.rejects.csv").exists()


def test_a_mapping_naming_a_field_the_event_does_not_have_is_refused_with_its_key(tmp_path: Path, capsys):
    with pytest.raises(SystemExit):
        _import(tmp_path, [], MAPPING.replace('house_damage = "none" }', 'house_damage = "none", roof = 1 }'))
    assert "disasters[0]: 'roof' is not a field of disaster.loss.reported" in capsys.readouterr().err
