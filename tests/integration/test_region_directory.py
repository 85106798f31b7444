"""The region directory on the real stack: an admin imports township and village names (rejects by line and reason),
staff see names in `GET /alerts` (one batch lookup a page) and get suggestions inside their jurisdiction."""

import csv
import io
import time

import httpx
import pytest
import redis

from tests.clients import create_user, login, post_event, wait_for_alert
from tests.factories import registration

pytestmark = pytest.mark.integration
TOWNSHIP = "532326101"  # a township of Dayao county (532326), used by no other test
NAMES = (
    "code,name\n"
    "532326101000,金碧镇\n"
    "532326101201,新华村委会\n"
    "53232610120,少一位的村\n"
    "532326101202,\n"
    "532327101001,永仁的村\n"
    "532326101203,龙街村委会\n"
)


def upload(stack, headers, text, name="names.csv", url=None):
    files = {"file": (name, text.encode(), "text/csv")}
    return httpx.post(f"{url or stack.api_url}/regions/import", files=files, headers=headers, timeout=30)


def finished(stack, headers, job_id, url=None):
    """Poll the job until it is done or failed; returns its record."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = httpx.get(f"{url or stack.api_url}/regions/import/{job_id}", headers=headers, timeout=10).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(f"region import {job_id} did not finish")


@pytest.fixture(scope="module")
def county_admin(stack):
    return create_user(stack, "reg.admin", "admin", "532326")


@pytest.fixture(scope="module")
def imported(stack, county_admin):
    response = upload(stack, county_admin, NAMES)
    assert response.status_code == 202, response.text
    return finished(stack, county_admin, response.json()["id"])


def test_an_admin_imports_township_and_village_names_and_each_malformed_row_is_reported_by_line_and_reason(
    stack, county_admin, imported
):
    assert (imported["status"], imported["changed"], imported["rejected"], imported["line"]) == ("done", 3, 3, 7)
    rejects = httpx.get(f"{stack.api_url}/regions/import/{imported['id']}/rejects", headers=county_admin).text
    assert list(csv.reader(io.StringIO(rejects))) == [
        ["line", "code", "reason"],
        ["4", "53232610120", "code: 11 digits; expected 6 (county), 9 (township) or 12 (village)"],
        ["5", "532326101202", "name: empty"],
        ["6", "532327101001", "code: outside your jurisdiction 532326"],
    ]
    places = httpx.get(
        f"{stack.api_url}/regions", params={"code": ["532326101201", TOWNSHIP, "532326101299"]}, headers=county_admin
    ).json()
    assert places == [
        {"code": "532326101201", "name": "金碧镇 · 新华村", "full_name": "云南省 楚雄彝族自治州 大姚县 金碧镇 新华村"},
        {"code": TOWNSHIP, "name": "金碧镇", "full_name": "云南省 楚雄彝族自治州 大姚县 金碧镇"},
        {"code": "532326101299", "name": "532326101299", "full_name": "532326101299"},  # unknown: the code
    ]


def test_only_an_admin_imports_and_an_import_is_seen_only_inside_its_jurisdiction(stack, imported):
    worker = create_user(stack, "reg.worker", "township_worker", TOWNSHIP)
    assert upload(stack, worker, NAMES).status_code == 403
    other_admin = create_user(stack, "reg.other", "admin", "532327")
    assert httpx.get(f"{stack.api_url}/regions/import/{imported['id']}", headers=other_admin).status_code == 404
    entries = redis.Redis.from_url(stack.redis_url).xrevrange("audit:log", count=200)
    assert any(e[b"action"] == b"regions.import" and e[b"target"].decode().endswith(imported["id"]) for _, e in entries)


def test_suggestions_match_a_name_s_start_or_its_pinyin_initials_inside_the_caller_s_jurisdiction(stack, imported):
    worker = create_user(stack, "reg.suggest", "township_worker", TOWNSHIP)
    suggest = f"{stack.api_url}/regions/suggest"
    by_initials = httpx.get(suggest, params={"q": "xhc"}, headers=worker).json()
    assert [(p["code"], p["name"]) for p in by_initials] == [("532326101201", "金碧镇 · 新华村")]
    by_name = httpx.get(suggest, params={"q": "金碧"}, headers=login(stack)).json()
    assert [p["code"] for p in by_name][:1] == [TOWNSHIP]  # the township before its villages
    by_county = httpx.get(suggest, params={"q": "大姚"}, headers=login(stack)).json()
    assert by_county[0] == {"code": "532326", "name": "大姚县", "full_name": "云南省 楚雄彝族自治州 大姚县"}
    elsewhere = create_user(stack, "reg.elsewhere", "township_worker", "532326102")
    assert httpx.get(suggest, params={"q": "xhc"}, headers=elsewhere).json() == []
    assert httpx.get(suggest, params={"q": "x", "within": "532327"}, headers=worker).status_code == 403


def test_a_later_file_renames_a_village_and_suggestions_follow_the_new_name(stack, county_admin, imported):
    job = upload(stack, county_admin, "532326101203,龙泉村\n", name="renames.csv").json()
    assert finished(stack, county_admin, job["id"])["changed"] == 1
    suggest = f"{stack.api_url}/regions/suggest"
    found = httpx.get(suggest, params={"q": "龙泉"}, headers=county_admin).json()
    assert [p["name"] for p in found] == ["金碧镇 · 龙泉村"]
    assert httpx.get(suggest, params={"q": "龙街"}, headers=county_admin).json() == []
    again = upload(stack, county_admin, "532326101203,龙泉村\n", name="renames.csv").json()
    assert finished(stack, county_admin, again["id"])["unchanged"] == 1  # the same file again: runs, changes nothing


def commands(client, name):
    return client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0)


def test_the_alert_list_names_every_village_from_one_batch_lookup_for_the_page(stack, county_admin):
    villages = [f"{TOWNSHIP}{300 + n}" for n in range(20)]
    rows = "".join(f"{code},第{n}村委会\n" for n, code in enumerate(villages))
    job = upload(stack, county_admin, rows, name="villages.csv").json()
    assert finished(stack, county_admin, job["id"])["changed"] == 20
    for n, code in enumerate(villages):
        post_event(stack, registration(f"HRN{n:07d}", 9600, region_code=code))
    admin = login(stack)
    wait_for_alert(stack, f"HRN{19:07d}", admin)
    for n in range(20):
        wait_for_alert(stack, f"HRN{n:07d}", admin)
    client = redis.Redis.from_url(stack.redis_url)
    before = commands(client, "hmget"), commands(client, "hget")
    page = httpx.get(f"{stack.api_url}/alerts", params={"region_code": TOWNSHIP, "limit": 50}, headers=admin).json()
    after = commands(client, "hmget"), commands(client, "hget")
    named = {item["region_code"]: item["region_name"] for item in page["items"]}
    expected = {code: f"金碧镇 · 第{n}村" for n, code in enumerate(villages)}
    assert {code: named.get(code) for code in villages} == expected
    # the names: one HMGET for the page (none once cached); HGETs are the alerts' own bodies, one per item at most
    assert after[0] - before[0] <= 2 and after[1] - before[1] <= len(page["items"])


def test_the_ledger_names_each_village_next_to_its_code_in_both_languages(stack, county_admin):
    village = f"{TOWNSHIP}401"
    job = upload(stack, county_admin, f"{village},石门村委会\n", name="ledger-village.csv").json()
    assert finished(stack, county_admin, job["id"])["changed"] == 1
    post_event(stack, registration("HRL0000001", 9600, region_code=village))
    wait_for_alert(stack, "HRL0000001", login(stack))
    for lang, name_column, code_column in (("en", "village", "village code"), ("zh", "村", "村(行政区划代码)")):
        answer = httpx.get(
            f"{stack.api_url}/ledger.csv", params={"township": TOWNSHIP, "lang": lang}, headers=county_admin
        )
        rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
        assert {(row[code_column], row[name_column]) for row in rows if row[code_column] == village} == {
            (village, "金碧镇 · 石门村")
        }
