"""The board (`GET /stats`), the ledger export and the alert lists never reach outside the caller's jurisdiction."""

import csv
import io
import json
import threading
import time

import httpx
import pytest
import redis

from tests.clients import create_user, login, post_event, wait_for_alert
from tests.factories import cloud_event, registration

pytestmark = pytest.mark.integration
TOWN_A, TOWN_B, OTHER_COUNTY = "532329101", "532329102", "532331101"


@pytest.fixture(scope="module")
def county(stack):
    """Two red and one yellow alert in county 532329 (two townships), one red alert in another county."""
    post_event(stack, registration("HST0000001", 9600, region_code=f"{TOWN_A}001"))
    post_event(stack, registration("HST0000002", 60000, region_code=f"{TOWN_A}002"))
    post_event(
        stack, cloud_event("assistance.requested", {"household_id": "HST0000002", "date": "2025-03-02", "reason": "病"})
    )
    post_event(stack, registration("HST0000003", 9600, region_code=f"{TOWN_B}001"))
    post_event(stack, registration("HST0000004", 9600, region_code=f"{OTHER_COUNTY}001"))
    admin = login(stack)
    alerts = {
        hid: wait_for_alert(stack, hid, admin) for hid in ("HST0000001", "HST0000002", "HST0000003", "HST0000004")
    }
    return {
        "alerts": alerts,
        "county": create_user(stack, "stats.county", "county_supervisor", "532329"),
        "worker": create_user(stack, "stats.town", "township_worker", TOWN_A),
    }


def get(stack, path, headers, **params):
    return httpx.get(f"{stack.api_url}{path}", params=params, headers=headers, timeout=30)


def test_the_board_counts_open_alerts_by_level_status_and_township(stack, county):
    board = get(stack, "/stats", county["county"]).json()
    overdue = get(stack, "/alerts", county["county"], overdue="true", limit=500).json()["total"]
    assert (board["region_code"], board["total"], board["open"], board["overdue"]) == ("532329", 3, 3, overdue)
    assert board["by_level"] == {"red": 2, "yellow": 1}
    assert board["by_status"] == {"open": 3}
    rows = {row["township"]: row for row in board["by_township"]}
    assert set(rows) == {TOWN_A, TOWN_B}
    assert (rows[TOWN_A]["open"], rows[TOWN_A]["red"], rows[TOWN_A]["yellow"]) == (2, 1, 1)
    assert (rows[TOWN_B]["open"], rows[TOWN_B]["red"], rows[TOWN_B]["yellow"]) == (1, 1, 0)


def test_a_township_worker_counts_only_their_own_township(stack, county):
    board = get(stack, "/stats", county["worker"]).json()
    assert (board["region_code"], board["total"]) == (TOWN_A, 2)
    assert [row["township"] for row in board["by_township"]] == [TOWN_A]


def test_a_supervisor_narrows_the_board_to_one_township(stack, county):
    board = get(stack, "/stats", county["county"], region_code=TOWN_B).json()
    assert (board["region_code"], board["total"], board["by_level"]) == (TOWN_B, 1, {"red": 1, "yellow": 0})


def test_asking_for_the_board_of_another_region_gets_403_naming_it(stack, county):
    for who, region in (("worker", TOWN_B), ("county", OTHER_COUNTY), ("worker", "532331")):
        response = get(stack, "/stats", county[who], region_code=region)
        assert response.status_code == 403
        assert f"region_code {region} is outside your jurisdiction" in response.json()["detail"]


def test_a_malformed_region_code_gets_422_naming_the_parameter(stack, county):
    response = get(stack, "/stats", county["county"], region_code="53-29")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "region_code"]


def test_the_ledger_lists_the_township_with_household_ids_masked(stack, county):
    response = get(stack, "/ledger.csv", county["county"], township=TOWN_A, lang="en")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"ledger-{TOWN_A}-" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert sorted(row["household (masked)"] for row in rows) == ["HST*****01", "HST*****02"]
    assert {row["alert_id"] for row in rows} == {county["alerts"][h]["id"] for h in ("HST0000001", "HST0000002")}
    assert "HST0000001" not in response.text and "HST0000002" not in response.text
    assert all(row["village code"].startswith(TOWN_A) for row in rows)


def test_the_chinese_ledger_opens_in_a_spreadsheet_and_gives_the_reasons_in_words(stack, county):
    response = get(stack, "/ledger.csv", county["worker"], township=TOWN_A)
    assert response.content.startswith("\ufeff预警编号".encode())
    reasons = [row[6] for row in csv.reader(io.StringIO(response.text.lstrip("\ufeff")))][1:]
    assert any("自主申报" in reason for reason in reasons)


def test_the_ledger_of_another_township_gets_403(stack, county):
    for who, township in (("worker", TOWN_B), ("county", OTHER_COUNTY)):
        response = get(stack, "/ledger.csv", county[who], township=township)
        assert response.status_code == 403
        assert f"township {township} is outside your jurisdiction" in response.json()["detail"]


def test_the_ledger_needs_a_nine_digit_township(stack, county):
    for params in ({"township": "5323"}, {}):
        response = get(stack, "/ledger.csv", county["county"], **params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "township"]


def test_every_ledger_export_is_audited(stack, county):
    get(stack, "/ledger.csv", county["county"], township=TOWN_B).raise_for_status()
    entries = redis.Redis.from_url(stack.redis_url, decode_responses=True).xrange("audit:log")
    assert ("stats.county", "ledger.export", TOWN_B) in [(e["user"], e["action"], e["target"]) for _, e in entries]


def test_a_worker_lists_reads_and_opens_nothing_of_another_township(stack, county):
    worker, other = county["worker"], county["alerts"]["HST0000003"]
    listed = get(stack, "/alerts", worker, limit=500).json()
    assert listed["items"] and all(item["region_code"].startswith(TOWN_A) for item in listed["items"])
    assert get(stack, "/alerts", worker, region_code=TOWN_B).json()["total"] == 0
    assert get(stack, "/alerts", worker, household_id="HST0000003").json()["total"] == 0
    assert get(stack, f"/alerts/{other['id']}", worker).status_code == 404
    assert get(stack, "/households/HST0000003", worker).status_code == 404


def test_alert_pages_follow_one_stable_order_newest_first_then_by_id(stack, county):
    admin = login(stack)
    everything = get(stack, "/alerts", admin, limit=500).json()["items"]
    keys = [(item["created_at"], item["id"]) for item in everything]
    assert keys == sorted(keys, reverse=True)
    paged = []
    for offset in range(0, len(everything), 2):
        paged += get(stack, "/alerts", admin, limit=2, offset=offset).json()["items"]
    assert [item["id"] for item in paged] == [item["id"] for item in everything]


def test_an_unknown_status_filter_gets_422_naming_it(stack, county):
    response = get(stack, "/alerts", county["worker"], status="pending")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]


def test_the_live_stream_carries_no_change_of_another_township(stack, county):
    seen: list[dict] = []
    connected = threading.Event()

    def listen() -> None:
        token = county["worker"]["authorization"].split()[1]
        url = f"{stack.api_url}/alerts/stream"
        with httpx.stream("GET", url, params={"access_token": token}, timeout=httpx.Timeout(30, read=30)) as response:
            connected.set()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:]))
                    if seen[-1]["household_id"] == "HST0000011":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(30)
    admin = login(stack)
    post_event(stack, registration("HST0000012", 9600, region_code=f"{TOWN_B}002"))
    wait_for_alert(stack, "HST0000012", admin)
    post_event(stack, registration("HST0000011", 9600, region_code=f"{TOWN_A}003"))
    listener.join(40)
    time.sleep(0.1)
    assert "HST0000011" in [change["household_id"] for change in seen]
    assert all(change["region_code"].startswith(TOWN_A) for change in seen)
