"""A names import whose API process dies mid-file (as kill -9 would) resumes when the API starts again: every row
applied once, every reject listed once."""

import csv
import io
import sys
import time

import httpx
import pytest

from tests.clients import create_user
from tests.infra import free_port, spawn, wait_until

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


def start_api(stack, port: int, folder, **env: str):
    process = spawn(f"api-regions-{port}", [sys.executable, "-m", "services.api"], {
        **stack.env, "API_PORT": str(port), "REGIONS_IMPORT_DIR": str(folder), **env,
    })  # fmt: skip
    wait_until(lambda: ready(port), 90, "second API ready")
    return process


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_an_import_killed_after_its_second_batch_resumes_at_restart_and_applies_each_row_once(stack, tmp_path):
    admin = create_user(stack, "reg.crash", "admin", COUNTY)
    text, bad = names_file()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    doomed = start_api(stack, port, tmp_path, SHOUWANG_FAILPOINT="regions.batch_applied@2")
    response = httpx.post(f"{url}/regions/import", files={"file": ("yongren.csv", text.encode())}, headers=admin)
    job_id = response.json()["id"]
    wait_until(lambda: doomed.popen.poll() is not None, 60, "the API dying at the failpoint")
    doomed.stop()
    killed = httpx.get(f"{stack.api_url}/regions/import/{job_id}", headers=admin).json()
    assert (killed["status"], killed["line"]) == ("running", 2000)

    restarted = start_api(stack, port, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while (job := httpx.get(f"{url}/regions/import/{job_id}", headers=admin).json())["status"] != "done":
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        rejects = httpx.get(f"{url}/regions/import/{job_id}/rejects", headers=admin).text
    finally:
        restarted.stop()
    assert (job["line"], job["changed"], job["unchanged"], job["rejected"]) == (ROWS, ROWS - len(bad), 0, len(bad))
    assert [int(row[0]) for row in list(csv.reader(io.StringIO(rejects)))[1:]] == bad
    assert not (tmp_path / f"{job_id}.csv").exists()  # the upload is deleted once imported
