"""kill -9 and restarts lose nothing and double-count nothing."""

import time

import pytest

from tests.clients import post_batch, post_event
from tests.factories import registration
from tests.recovery import alert_problems, county, uninterrupted_figures, wait_for_figures

pytestmark = pytest.mark.integration


def test_a_scoring_worker_killed_mid_stream_ends_where_an_uninterrupted_run_ends(stack):
    events = county("HKS", 60)
    expected = uninterrupted_figures(events)
    for start in range(0, len(events), 200):
        assert post_batch(stack, events[start : start + 200]).json()["rejected"] == 0
        if start == 200:
            stack.processes["scoring"].kill()
    stack.start("scoring")
    assert wait_for_figures(stack, expected) == expected
    assert alert_problems(stack, expected) == []


def test_an_alerts_service_killed_mid_stream_creates_no_duplicate_alert(stack):
    events = county("HKA", 30)
    expected = uninterrupted_figures(events)
    stack.processes["alerts"].kill()
    assert post_batch(stack, events[:180]).json()["accepted"] == 180
    stack.start("alerts")
    time.sleep(1)
    stack.processes["alerts"].kill()
    assert post_batch(stack, events[180:]).json()["accepted"] == len(events) - 180
    stack.start("alerts")
    assert wait_for_figures(stack, expected) == expected
    assert alert_problems(stack, expected) == []


def test_duplicate_detection_survives_an_ingest_restart(stack):
    event = registration("HKI1", 90000)
    assert post_event(stack, event).status_code == 202
    stack.processes["ingest"].kill()
    stack.start("ingest")
    assert post_event(stack, event).json()["status"] == "duplicate"
