"""A scoring worker dying between its effects loses no score and double-counts nothing (failpoints)."""

from __future__ import annotations

import json
import time

import pytest

from services.common import topics
from tests.clients import post_batch, read_topic
from tests.recovery import alert_problems, county, uninterrupted_figures, wait_for_figures

pytestmark = pytest.mark.integration
CRASHED = 137  # services/common/failpoints.py exits with kill -9's status


def latest_scores(bootstrap: str, prefix: str) -> dict[str, tuple[str, float]]:
    """Each household's last score on the scores topic: (level, 12-month income)."""
    latest: dict[str, tuple[str, float]] = {}
    for message in read_topic(bootstrap, topics.SCORES):
        score = json.loads(message.value)
        if score["household_id"].startswith(prefix):
            latest[score["household_id"]] = (score["level"], score["figures"]["income_12m"])
    return latest


@pytest.mark.parametrize(
    ("failpoint", "prefix"),
    [("scoring.scores_sent", "HFS"), ("scoring.states_written", "HFW")],
    ids=["after-scores-before-states", "after-states-before-acknowledging"],
)
def test_a_worker_that_dies_between_its_effects_loses_no_score_and_repeats_no_alert(stack, failpoint, prefix):
    # Month by month across households: every household's events span several batches, so a batch whose states
    # were lost would show in the scores of the batches after it.
    events = sorted(
        county(prefix, 40), key=lambda e: (e["type"] != "household.registered", e["data"].get("period", ""))
    )
    expected = uninterrupted_figures(events)
    stack.processes["scoring"].stop()
    logged = stack.log_size("scoring")
    # Offsets committed every 5 ms: an event acknowledged before its effects were durable would be committed, and
    # lost, before the crash.
    crashing = stack.start("scoring", SHOUWANG_FAILPOINT=f"{failpoint}@2", SCORING_COMMIT_SECONDS="0.005")
    stack.wait_for_log("scoring", "[^Worker]: Ready", logged)  # so that the requests below make several batches
    for start in range(0, len(events), 130):
        assert post_batch(stack, events[start : start + 130]).json()["rejected"] == 0
        time.sleep(0.5)  # each request becomes a batch of its own
    assert crashing.popen.wait(120) == CRASHED
    stack.start("scoring")
    assert wait_for_figures(stack, expected) == expected
    assert latest_scores(stack.bootstrap, prefix) == expected
    assert alert_problems(stack, expected) == []
