"""A names import runs in the jobs process: one killed mid-file (as kill -9 would) leaves the job to the queue's sweep,
and the next jobs process goes on after its last batch, every row applied once, every reject listed once; the API
that accepted it plays no part (it may stop and start meanwhile)."""

import csv
import io
import time
from pathlib import Path

import httpx
import pytest

from tests.clients import create_user
from tests.infra import wait_until

pytestmark = pytest.mark.integration
COUNTY = "532327"  # Yongren county: no other test imports names there
ROWS = 3500  # four batches of 1,000 rows


def names_file() -> tuple[str, list[int]]:
    """Villages of Yongren county, every 250th row malformed (11 digits); returns the text and the bad lines."""
    lines, bad = [], []
    for n in range(ROWS):
        township, village = 101 + n // 900, 1 + n % 900
        code = f"{COUNTY}{township}{village:03d}"
        if n % 250 == 0:
            code = code[:-1]
            bad.append(n + 1)
        lines.append(f"{code},永仁{n}村委会\n")
    return "".join(lines), bad


def test_an_import_whose_jobs_process_is_killed_after_its_second_batch_goes_on_after_it_and_applies_each_row_once(
    stack,
):
    admin = create_user(stack, "reg.crash", "admin", COUNTY)
    text, bad = names_file()
    stack.processes["jobs"].stop()
    doomed = stack.start("jobs", SHOUWANG_FAILPOINT="regions.batch_applied@2")
    try:
        response = httpx.post(
            f"{stack.api_url}/regions/import", files={"file": ("yongren.csv", text.encode())}, headers=admin, timeout=30
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        wait_until(lambda: doomed.popen.poll() is not None, 120, "the jobs process dying at the failpoint")
        stack.processes["api"].stop()  # the API plays no part in finishing the job
        stack.start("api")
        killed = httpx.get(f"{stack.api_url}/regions/import/{job_id}", headers=admin).json()
        assert (killed["status"], killed["line"], killed["attempt"]) == ("running", 2000, 1)
    finally:
        stack.start("jobs")
    deadline = time.monotonic() + 120
    while (job := httpx.get(f"{stack.api_url}/regions/import/{job_id}", headers=admin).json())["status"] != "done":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.2)
    rejects = httpx.get(f"{stack.api_url}/regions/import/{job_id}/rejects", headers=admin).text
    assert (job["line"], job["changed"], job["unchanged"], job["rejected"]) == (ROWS, ROWS - len(bad), 0, len(bad))
    assert job["attempt"] >= 2  # taken up again after the kill
    assert [int(row[0]) for row in list(csv.reader(io.StringIO(rejects)))[1:]] == bad
    assert not (Path(stack.env["REGIONS_IMPORT_DIR"]) / f"{job_id}.csv").exists()  # the upload is deleted once imported
