"""Bulk import of department files through ingest: rejects report, resume after a kill, XLSX."""

import csv
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook

from tests.clients import read_topic
from tests.factories import resident_id
from tests.infra import ROOT

pytestmark = pytest.mark.integration

MAPPING = """
source = "/civil-affairs/5323"
event_type = "income.reported"
row_key = ["流水号"]
money_unit = "fen"
time_column = "申报日期"
date_format = "%Y%m%d"
[columns]
household_id = "户编号"
period = "月份"
amount = "收入"
income_source = "来源"
"""


def write_csv(path, rows: int, bad_every: int = 0, households: str = "HBI"):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["流水号", "户编号", "月份", "收入", "来源", "申报日期"])
        for n in range(rows):
            amount = "abc" if bad_every and n % bad_every == 7 else str(100000 + n)
            period = "2025-13" if bad_every and n % bad_every == 9 else "2025-03"
            writer.writerow([f"L{n:06d}", f"{households}{n % 50:03d}", period, amount, "wage", "20250328"])


def import_command(stack, tmp_path, file, batch_size=200):
    mapping = tmp_path / "civil.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return [
        sys.executable,
        "-m",
        "services.ingest.cli",
        "import",
        str(file),
        "--mapping",
        str(mapping),
        "--ingest-url",
        stack.ingest_url,
        "--key",
        stack.ingest_key,
        "--batch-size",
        str(batch_size),
    ]


def imported_ids(stack, households: str):
    events = [json.loads(m.value) for m in read_topic(stack.bootstrap, "events.canonical")]
    return Counter(e["id"] for e in events if e["data"]["household_id"].startswith(households))


def test_bad_rows_are_reported_with_their_row_number_field_and_reason(stack, tmp_path):
    file = tmp_path / "incomes.csv"
    write_csv(file, 40, bad_every=20)
    result = subprocess.run(
        import_command(stack, tmp_path, file), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    with (tmp_path / "incomes.csv.rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert sorted((int(r["row"]), r["field"]) for r in rejects) == [
        (9, "amount"),
        (11, "data.period"),
        (29, "amount"),
        (31, "data.period"),
    ]
    assert "is not an amount" in next(r["reason"] for r in rejects if r["field"] == "amount")


def test_an_import_killed_half_way_and_restarted_counts_every_row_exactly_once(stack, tmp_path):
    file = tmp_path / "big.csv"
    write_csv(file, 6000, households="HBK")
    process = subprocess.Popen(
        import_command(stack, tmp_path, file, batch_size=100),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    progress = tmp_path / "big.csv.progress"
    deadline = time.monotonic() + 120
    while not (progress.exists() and int(progress.read_text() or 0) > 1000):
        assert time.monotonic() < deadline and process.poll() is None, "import never got going"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert int(progress.read_text()) < 6001, "the import finished before it could be killed"

    result = subprocess.run(
        import_command(stack, tmp_path, file, batch_size=100), cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 60
    while len(ids := imported_ids(stack, "HBK")) < 6000 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(ids) == 6000 and set(ids.values()) == {1}


def test_an_xlsx_file_is_imported_like_a_csv(stack, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["流水号", "户编号", "月份", "收入", "来源", "申报日期"])
    sheet.append(["X1", "HBX1", "2025-04", 123456, "agriculture", "20250430"])
    workbook.save(tmp_path / "april.xlsx")
    result = subprocess.run(
        import_command(stack, tmp_path, tmp_path / "april.xlsx"), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "'accepted': 1" in result.stdout


def test_a_file_uploaded_over_http_is_imported_as_a_job_with_its_rejects_report(stack, tmp_path):
    file = tmp_path / "upload.csv"
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["结算单号", "身份证号", "行政区划代码", "就诊日期", "总费用", "自付金额", "病种类别"])
        writer.writerow(
            ["U1", resident_id("53232819700101001"), "532328101001", "2025/03/05", "10000", "5000", "chronic"]
        )
        writer.writerow(["U2", "110105194912310021", "532328101001", "2025/03/05", "10000", "5000", "chronic"])
    headers = {"authorization": f"Bearer {stack.ingest_key}"}
    with file.open("rb") as handle:
        response = httpx.post(
            f"{stack.ingest_url}/imports",
            params={"mapping": "medical-insurance"},
            files={"file": ("upload.csv", handle, "text/csv")},
            headers=headers,
        )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while (job := httpx.get(f"{stack.ingest_url}/imports/{job_id}", headers=headers).json())["status"] != "done":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.3)
    assert (job["counts"]["rows"], job["counts"]["accepted"], job["counts"]["rejected"]) == (2, 1, 1)
    report = httpx.get(f"{stack.ingest_url}/imports/{job_id}/rejects", headers=headers).text
    assert "data.member_id" in report and "110105194912310021" not in report


def test_an_import_needs_a_known_mapping_and_a_key_for_its_source(stack, tmp_path):
    file = tmp_path / "x.csv"
    file.write_text("a\n1\n", encoding="utf-8")
    with file.open("rb") as handle:
        unknown = httpx.post(
            f"{stack.ingest_url}/imports",
            params={"mapping": "nope"},
            files={"file": ("x.csv", handle)},
            headers={"authorization": f"Bearer {stack.ingest_key}"},
        )
    assert unknown.status_code == 404 and "no mapping named" in unknown.json()["detail"]
    with file.open("rb") as handle:
        foreign = httpx.post(
            f"{stack.ingest_url}/imports",
            params={"mapping": "medical-insurance"},
            files={"file": ("x.csv", handle)},
            headers={"authorization": "Bearer civil-key"},
        )
    assert foreign.status_code == 403


def test_an_uploaded_import_whose_jobs_process_is_killed_half_way_counts_every_row_exactly_once(stack, tmp_path):
    file = tmp_path / "uploaded.csv"
    write_csv(file, 6000, households="HBJ")
    (Path(stack.env["IMPORT_MAPPINGS_DIR"]) / "test-civil-income.toml").write_text(MAPPING, encoding="utf-8")
    headers = {"authorization": f"Bearer {stack.ingest_key}"}
    with file.open("rb") as handle:
        response = httpx.post(
            f"{stack.ingest_url}/imports",
            params={"mapping": "test-civil-income"},
            files={"file": ("uploaded.csv", handle, "text/csv")},
            headers=headers,
        )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    progress = Path(stack.env["IMPORT_DIR"]) / job_id / "uploaded.csv.progress"
    deadline = time.monotonic() + 120
    while not (progress.exists() and int(progress.read_text() or 0) > 1000):
        assert time.monotonic() < deadline, "the import never got going"
        time.sleep(0.05)
    stack.processes["jobs"].kill()  # kill -9 mid-import
    assert int(progress.read_text()) < 6001, "the import finished before it could be killed"
    stack.start("jobs")
    deadline = time.monotonic() + 300
    while (job := httpx.get(f"{stack.ingest_url}/imports/{job_id}", headers=headers).json())["status"] != "done":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job["attempt"] >= 2  # taken up again after the kill
    deadline = time.monotonic() + 60
    while len(ids := imported_ids(stack, "HBJ")) < 6000 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(ids) == 6000 and set(ids.values()) == {1}
