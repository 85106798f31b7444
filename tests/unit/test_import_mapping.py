import zipfile
from pathlib import Path

import pytest

from services.common.settings import REPO_ROOT
from services.ingest.importer import FileRefused, read_rows
from services.ingest.mapping import Mapping, RowError
from services.ingest.validation import validate_event
from tests.factories import resident_id

MEDICAL = Mapping.load(REPO_ROOT / "deploy" / "mappings" / "medical-insurance.toml")


def row(**overrides):
    base = {
        "结算单号": "JS-0001",
        "身份证号": resident_id("53232819700101001"),
        "行政区划代码": "532328101001",
        "就诊日期": "2025/03/05",
        "总费用": "1234567",
        "自付金额": "345678",
        "病种类别": "chronic",
    }
    return {**base, **overrides}


def test_chinese_headers_and_fen_amounts_become_a_valid_event():
    event = MEDICAL.to_event("2025-03.csv", row())
    assert event["data"]["total_cost"] == 12345.67 and event["data"]["out_of_pocket"] == 3456.78
    assert event["data"]["date"] == "2025-03-05" and event["time"] == "2025-03-05T00:00:00+08:00"
    assert validate_event(event, b"k").data.member_id.startswith("psn_")


def test_the_event_id_depends_on_source_file_and_row_key_only():
    first = MEDICAL.to_event("2025-03.csv", row())["id"]
    assert MEDICAL.to_event("2025-03.csv", row(自付金额="1"))["id"] == first
    assert MEDICAL.to_event("2025-04.csv", row())["id"] != first
    assert MEDICAL.to_event("2025-03.csv", row(结算单号="JS-0002"))["id"] != first


@pytest.mark.parametrize(
    "overrides,field,reason",
    [
        ({"就诊日期": "05-03-2025"}, "date", "does not match the date format"),
        ({"自付金额": "三百"}, "out_of_pocket", "is not an amount"),
    ],
)
def test_a_bad_cell_names_the_field(overrides, field, reason):
    with pytest.raises(RowError) as exc:
        MEDICAL.to_event("f.csv", row(**overrides))
    assert exc.value.field == field and reason in exc.value.reason


def test_a_missing_column_is_named():
    broken = row()
    del broken["自付金额"]
    with pytest.raises(RowError, match="自付金额: column missing"):
        MEDICAL.to_event("f.csv", broken)


def test_a_mapping_to_fields_the_event_does_not_have_is_refused(tmp_path: Path):
    text = (REPO_ROOT / "deploy" / "mappings" / "medical-insurance.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('illness = "病种类别"', 'phone = "电话"'), encoding="utf-8")
    with pytest.raises(ValueError, match=r"\['phone'\] are not fields of medical.expense.incurred"):
        Mapping.load(bad)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("rows.xlsx", b"household,amount\n", "not an XLSX file"),
        ("rows.xls", b"\xd0\xcf\x11\xe0", "only .csv, .jsonl and .xlsx files can be imported"),
    ],
)
def test_a_file_of_the_wrong_kind_is_refused_as_a_file(tmp_path: Path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileRefused, match=reason):
        list(read_rows(path))


def test_a_zip_that_is_not_a_workbook_is_refused_as_a_file(tmp_path: Path):
    path = tmp_path / "rows.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(FileRefused, match="not a readable XLSX workbook"):
        list(read_rows(path))
