"""A key scoped to a county (`yuanmou-key=/@532328`) beside unscoped department keys: what it may write, occupy and
import stays inside its county, on the real stack."""

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.clients import post_batch, post_event, read_topic
from tests.factories import income, registration

pytestmark = pytest.mark.integration
COUNTY = "yuanmou-key"  # =/@532328: any source prefix, households of county 532328 only
MAPPING = """
source = "/civil-affairs/532328/incomes"
event_type = "income.reported"
row_key = ["流水号"]
money_unit = "yuan"
time_column = "申报日期"
date_format = "%Y%m%d"
[columns]
household_id = "户编号"
period = "月份"
amount = "收入"
"""


def published_ids(stack) -> set[str]:
    return {json.loads(message.value)["id"] for message in read_topic(stack.bootstrap, "events.canonical", idle_ms=800)}


def errors_of(response: httpx.Response) -> dict[str, str]:
    return {error["field"]: error["reason"] for error in response.json()["errors"]}


def beijing_registration(household: str) -> dict:
    return {**registration(household, 9600, region_code="110101001001"), "source": "/civil-affairs/110101"}


def test_a_county_key_cannot_occupy_an_id_of_another_regions_source_and_the_departments_event_goes_through(stack):
    assert (
        post_event(stack, {**registration("HGR-A1", 9600), "source": "/civil-affairs/532328"}, key=COUNTY).status_code
        == 202
    )
    squatted = {**income("HGR-A1", "2025-03", 100, id="dept-110101-0001"), "source": "/civil-affairs/110101"}
    refused = post_event(stack, squatted, key=COUNTY)
    assert refused.status_code == 403 and "532328" in errors_of(refused)["source"]
    unnamed = {**income("HGR-A1", "2025-03", 100, id="dept-national-0001"), "source": "/civil-affairs"}
    assert post_event(stack, unnamed, key=COUNTY).status_code == 403  # a source naming no region is nobody's county

    assert post_event(stack, beijing_registration("HGR-B1"), key="civil-key").status_code == 202
    real = {**income("HGR-B1", "2025-03", 700, id="dept-110101-0001"), "source": "/civil-affairs/110101"}
    accepted = post_event(stack, real, key="civil-key")
    assert accepted.status_code == 202 and accepted.json()["status"] == "accepted"
    real_national = {**income("HGR-B1", "2025-03", 700, id="dept-national-0001"), "source": "/civil-affairs"}
    assert post_event(stack, real_national, key="civil-key").json()["status"] == "accepted"


def test_a_county_key_cannot_write_about_a_household_nobody_has_registered_yet(stack):
    early = {**income("110101001001", "2025-03", 50000), "source": "/civil-affairs/532328"}
    refused = post_event(stack, early, key=COUNTY)
    assert refused.status_code == 403 and "not registered yet" in errors_of(refused)["data.household_id"]
    assert post_event(stack, beijing_registration("110101001001"), key="civil-key").status_code == 202
    again = post_event(stack, {**early, "id": "evt-hgr-again"}, key=COUNTY)
    assert again.status_code == 403 and "registered in region 110101001001" in errors_of(again)["data.household_id"]
    assert early["id"] not in published_ids(stack)


def test_a_county_key_registers_and_writes_its_own_households_in_one_batch(stack):
    own = [
        {**registration("HGR-C1", 9600, region_code="532328101002"), "source": "/civil-affairs/532328"},
        {**income("HGR-C1", "2025-03", 800), "source": "/civil-affairs/532328"},
    ]
    batch = post_batch(stack, own, key=COUNTY).json()
    assert [result["status"] for result in batch["results"]] == ["accepted", "accepted"]


async def _register_at_once(stack, household: str) -> list[int]:
    county = {**registration(household, 9600, region_code="532328101001"), "source": "/civil-affairs/532328"}
    beijing = {**registration(household, 9600, region_code="110101001001"), "source": "/civil-affairs/1101"}
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    f"{stack.ingest_url}/events",
                    json=event,
                    headers={"authorization": f"Bearer {key}", "content-type": "application/cloudevents+json"},
                )
                for event, key in ((county, COUNTY), (beijing, "beijing-key"))
            )
        )
    return [answer.status_code for answer in answers]


def test_the_first_registration_of_a_household_sets_its_region_for_every_key_even_when_two_race(stack):
    for attempt in range(5):
        household = f"HGR-R{attempt}"
        codes = asyncio.run(_register_at_once(stack, household))
        assert sorted(codes) == [202, 403], codes
        winner = COUNTY if codes[0] == 202 else "beijing-key"
        loser = "beijing-key" if winner == COUNTY else COUNTY
        source = {COUNTY: "/civil-affairs/532328", "beijing-key": "/civil-affairs/1101"}
        assert (
            post_event(stack, {**income(household, "2025-03", 1), "source": source[winner]}, key=winner).status_code
            == 202
        )
        assert (
            post_event(stack, {**income(household, "2025-03", 1), "source": source[loser]}, key=loser).status_code
            == 403
        )


def wait_for_import(stack, job_id: str, key: str) -> dict:
    headers = {"authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 120
    while (job := httpx.get(f"{stack.ingest_url}/imports/{job_id}", headers=headers).json())["status"] != "done":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.3)
    return job


def upload(stack, key: str, mapping: str, content: str) -> httpx.Response:
    return httpx.post(
        f"{stack.ingest_url}/imports",
        params={"mapping": mapping},
        files={"file": ("incomes.csv", content.encode(), "text/csv")},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_an_import_uploaded_with_a_county_key_keeps_that_keys_regions_row_by_row(stack):
    (Path(stack.env["IMPORT_MAPPINGS_DIR"]) / "test-county-incomes.toml").write_text(MAPPING, encoding="utf-8")
    assert post_event(stack, beijing_registration("HGR-I1"), key="civil-key").status_code == 202
    own = {**registration("HGR-I2", 9600, region_code="532328101003"), "source": "/civil-affairs/532328"}
    assert post_event(stack, own, key=COUNTY).status_code == 202
    rows = "流水号,户编号,月份,收入,申报日期\nR1,HGR-I1,2025-03,100,20250328\nR2,HGR-I2,2025-03,200,20250328\n"
    response = upload(stack, COUNTY, "test-county-incomes", rows)
    assert response.status_code == 202, response.text
    job = wait_for_import(stack, response.json()["id"], COUNTY)
    assert (job["counts"]["accepted"], job["counts"]["rejected"]) == (1, 1), job
    report = httpx.get(
        f"{stack.ingest_url}/imports/{job['id']}/rejects", headers={"authorization": f"Bearer {COUNTY}"}
    ).text
    assert "registered in region 110101001001" in report
    other = httpx.get(f"{stack.ingest_url}/imports/{job['id']}", headers={"authorization": "Bearer beijing-key"})
    assert other.status_code == 403  # another county's key does not read the job

    foreign = upload(stack, COUNTY, "medical-insurance", "结算单号\n")  # source /medical-insurance/5323: the prefecture
    assert foreign.status_code == 403 and "5323" in foreign.json()["detail"]


def test_rows_naming_an_import_job_are_held_to_its_uploaders_grant_whatever_key_sends_them(stack):
    (Path(stack.env["IMPORT_MAPPINGS_DIR"]) / "test-county-incomes.toml").write_text(MAPPING, encoding="utf-8")
    response = upload(stack, COUNTY, "test-county-incomes", "流水号,户编号,月份,收入,申报日期\n")
    job_id = response.json()["id"]
    wait_for_import(stack, job_id, COUNTY)
    assert post_event(stack, beijing_registration("HGR-J1"), key="civil-key").status_code == 202
    row = {**income("HGR-J1", "2025-03", 100), "source": "/civil-affairs/532328/incomes"}
    sent = httpx.post(
        f"{stack.ingest_url}/events",
        json=[row],
        headers={
            "authorization": f"Bearer {stack.ingest_key}",  # the unscoped key the jobs process sends with
            "content-type": "application/cloudevents-batch+json",
            "x-shouwang-import-job": job_id,
        },
    )
    assert sent.json()["results"][0]["status"] == "rejected"
    unknown = httpx.post(
        f"{stack.ingest_url}/events",
        json=[row],
        headers={
            "authorization": f"Bearer {stack.ingest_key}",
            "content-type": "application/cloudevents-batch+json",
            "x-shouwang-import-job": "0" * 32,
        },
    )
    assert unknown.status_code == 403
