"""What an alert and a household keep stays bounded however many scores come, and a redelivered score still counts
once: alerts keep ALERTS_HISTORY_KEPT history entries, households ALERTS_SCORE_IDS_KEPT score ids."""

import httpx
import pytest
import redis

from tests.clients import create_user, login
from tests.workflow_stack import poll, score, start_workflow_stack

pytestmark = pytest.mark.integration
HISTORY_KEPT, SCORE_IDS_KEPT = 5, 60


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(
        kafka_bootstrap,
        tmp_path_factory.mktemp("bounds"),
        ALERTS_HISTORY_KEPT=str(HISTORY_KEPT),
        ALERTS_SCORE_IDS_KEPT=str(SCORE_IDS_KEPT),
    )
    yield running
    running.stop()


def test_an_alert_keeps_its_newest_history_entries_and_counts_the_ones_it_dropped(wf):
    admin, api = login(wf.stack), wf.stack.api_url
    wf.publish(score("HGH1"), *(score("HGH1", "yellow", codes=("medical_burden",)) for _ in range(7)))
    alert = poll(f"{api}/alerts", admin, lambda b: b["items"] and b["items"][0]["version"] == 8, household_id="HGH1")
    alert = alert["items"][0]
    assert len(alert["history"]) == HISTORY_KEPT and alert["history_dropped"] == 3
    assert [entry["change"] for entry in alert["history"]] == ["evidence_added"] * HISTORY_KEPT
    worker = create_user(wf.stack, "hgh.worker", "township_worker", "532328101")
    taken = httpx.post(f"{api}/alerts/{alert['id']}/transitions", json={"to": "verifying"}, headers=worker)
    assert taken.status_code == 200
    assert len(taken.json()["history"]) == HISTORY_KEPT and taken.json()["history"][-1]["change"] == "verifying"
    assert taken.json()["history_dropped"] == 4


def test_a_score_redelivered_after_fifty_newer_ones_adds_no_evidence_again(wf):
    admin, api = login(wf.stack), wf.stack.api_url
    first = score("HGD1")
    wf.publish(first, *(score("HGD1", "yellow", codes=("medical_burden",)) for _ in range(54)))
    poll(f"{api}/alerts", admin, lambda b: b["items"] and b["items"][0]["version"] == 55, 60, household_id="HGD1")
    wf.publish(first, score("HGD1", "yellow", codes=("income_drop",)))  # the first again, then a new one
    page = poll(f"{api}/alerts", admin, lambda b: "income_drop" in str(b["items"][0]["reasons"]), household_id="HGD1")
    assert page["items"][0]["version"] == 56


def test_a_household_keeps_a_bounded_set_of_score_ids(wf):
    admin, api = login(wf.stack), wf.stack.api_url
    wf.publish(*(score("HGS1", "green", per_capita_income=9000 + n) for n in range(SCORE_IDS_KEPT + 10)))
    poll(f"{api}/households/HGS1", admin, lambda b: len(b["timeline"]) == SCORE_IDS_KEPT + 10)
    client = redis.Redis.from_url(wf.stack.redis_url)
    assert client.zcard("alerts:household:HGS1:score_ids") == SCORE_IDS_KEPT
