"""Cells a spreadsheet would run as formulas are written as text in every CSV the system writes."""

import csv
import io

import pytest

from services.common.spreadsheets import safe_cell, spreadsheet_writer
from services.ingest.importer import ImportReport, RejectsReport


@pytest.mark.parametrize("cell", ["=1+1", "+1+1", "-1+cmd", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://a.cn")'])
def test_a_cell_beginning_like_a_formula_is_written_behind_a_single_quote(cell):
    out = io.StringIO()
    spreadsheet_writer(out).writerow([cell, "plain"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'" + cell, "plain"]


@pytest.mark.parametrize("cell", ["-12", "+3.50", "12", 7, -7, "元马镇 · =x", ""])
def test_numbers_and_text_that_only_contains_formula_characters_are_left_as_they_are(cell):
    assert safe_cell(cell) == cell


def test_the_ingest_rejects_report_neutralises_what_a_file_brought_in(tmp_path):
    with RejectsReport(tmp_path / "r.csv", 0) as report:
        report.add(ImportReport(), 2, [("@field", "=cmd|calc!A0")])
    assert list(csv.reader((tmp_path / "r.csv").open(encoding="utf-8")))[1] == ["2", "'@field", "'=cmd|calc!A0"]
