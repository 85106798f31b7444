"""A township admin's names upload cannot fill Redis, and nothing a file brings in runs as a formula in a CSV staff
open in a spreadsheet; on the real stack (Redis as `make run` starts it)."""

import csv
import io
import re
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.clients import create_user, login, post_event, wait_for_alert
from tests.factories import registration

pytestmark = pytest.mark.integration
FORMULA = '=HYPERLINK("http://a.cn","点")'  # a spreadsheet would run it as a link


def upload(stack, headers, text: str, name: str = "names.csv") -> httpx.Response:
    files = {"file": (name, text.encode(), "text/csv")}
    return httpx.post(f"{stack.api_url}/regions/import", files=files, headers=headers, timeout=60)


def finished(stack, headers, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while (job := httpx.get(f"{stack.api_url}/regions/import/{job_id}", headers=headers).json())["status"] not in (
        "done",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def test_a_tiny_upload_of_many_bad_rows_keeps_a_bounded_rejects_list_of_short_reasons(stack):
    township_admin = create_user(stack, "sec.regions1", "admin", "532328101")
    header = ",".join(f"column-with-a-long-name-{chr(97 + n % 26)}{chr(97 + n // 26)}" for n in range(60))
    text = header + "\n" + "1,2\n" * 20_000
    response = upload(stack, township_admin, text)
    job = finished(stack, township_admin, response.json()["id"])
    assert (job["status"], job["rejected"]) == ("done", 20_000)
    client = redis.Redis.from_url(stack.redis_url)
    kept = f"regions:rejects:{job['id']}"
    assert client.llen(kept) == 1000  # REGIONS_REJECTS_KEPT
    assert (client.memory_usage(kept) or 0) < 256 * 1024  # 20,000 rejects with the whole header: 25 MB
    report = list(csv.reader(io.StringIO(httpx.get(f"{stack.api_url}/regions/import/{job['id']}/rejects",
                                                   headers=township_admin).text)))  # fmt: skip
    assert max(len(row[2]) for row in report[1:]) < 200
    assert "19000 more rows were refused" in report[-1][2]


def test_a_names_file_of_more_lines_than_an_import_takes_fails_and_its_upload_is_deleted(stack):
    township_admin = create_user(stack, "sec.regions2", "admin", "532328101")
    response = upload(stack, township_admin, "1\n" * 1_000_002)  # REGIONS_IMPORT_MAX_ROWS: 1,000,000
    job = finished(stack, township_admin, response.json()["id"])
    assert job["status"] == "failed" and "REGIONS_IMPORT_MAX_ROWS" in job["error"]
    assert job["rejected"] == 0 and job["line"] == 0
    assert not list(Path(stack.env["REGIONS_IMPORT_DIR"]).glob(f"{job['id']}*"))


def test_redis_refuses_writes_when_full_and_the_api_reports_its_memory(stack):
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    assert int(client.config_get("maxmemory")["maxmemory"]) > 0
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    deadline = time.monotonic() + 30
    while not re.search(r"^shouwang_redis_memory_used_ratio 0\.0*[1-9]", httpx.get(f"{stack.api_url}/metrics").text,
                        re.M):  # fmt: skip
        assert time.monotonic() < deadline, "no Redis memory gauge on the API's /metrics"
        time.sleep(0.5)


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def test_a_place_named_as_a_formula_is_written_as_text_in_the_ledger_and_the_rejects_report(stack):
    county_admin = create_user(stack, "sec.regions3", "admin", "532328")
    township, village = "532328198", "532328198001"
    text = f'code,name\n{township},"{FORMULA.replace(chr(34), chr(34) * 2)}"\n{village},@SUM(1)\n=cmd|calc!A0,x\n'
    job = finished(stack, county_admin, upload(stack, county_admin, text).json()["id"])
    assert (job["changed"], job["rejected"]) == (2, 1), job
    rejects = httpx.get(f"{stack.api_url}/regions/import/{job['id']}/rejects", headers=county_admin).text
    assert "'=cmd|calc!A0" in cells(rejects)

    assert post_event(stack, registration("HSEC-CSV1", 9600, region_code=village)).status_code == 202
    wait_for_alert(stack, "HSEC-CSV1", login(stack))
    ledger = httpx.get(f"{stack.api_url}/ledger.csv", params={"township": township}, headers=county_admin).text
    written = cells(ledger)
    assert f"'{FORMULA} · @SUM(1)" in written
    assert [cell for cell in written if cell.startswith(("=", "+", "-", "@", "\t", "\r"))] == []
