"""`make run`'s demo county: streamed under a key that may write it, never with an event time in the future."""

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from services.analytics.publish import simulated_events
from services.common.settings import DemoSettings
from services.demo.county import demo_county, demo_key
from tests.infra import ROOT


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PSEUDONYM_KEY", "unit-test-pseudonym-key")
    monkeypatch.delenv("DEMO_INGEST_KEY", raising=False)
    return lambda value: monkeypatch.setenv("INGEST_API_KEYS", value)


def test_the_demo_streams_under_a_key_that_may_write_its_county_not_merely_the_first_key(keys):
    keys("civil=/civil-affairs,beijing=/@1101,township=/@532328101,county=/@5323,any=/")
    assert demo_key(DemoSettings(ingest_url="x")) == "county"
    keys("civil=/civil-affairs,medical=/medical-insurance")
    assert demo_key(DemoSettings(ingest_url="x")) is None
    assert demo_key(DemoSettings(ingest_url="x", ingest_key="chosen")) == "chosen"


def test_without_a_fitting_key_the_demo_says_loudly_that_it_streams_nothing():
    env = {**os.environ, "PSEUDONYM_KEY": "k", "INGEST_API_KEYS": "civil=/civil-affairs", "DEMO_INGEST_URL": "x"}
    env.pop("DEMO_INGEST_KEY", None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "services.demo.county"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert demo.stderr is not None
        assert "DEMO NOT STREAMED: no key in INGEST_API_KEYS may write the demo county" in demo.stderr.readline()
    finally:
        demo.kill()
        demo.wait()


def test_no_demo_event_time_lies_in_the_future():
    now = datetime.now(UTC)
    latest = max(datetime.fromisoformat(event["time"]) for event in simulated_events(demo_county(40, 7)))
    assert latest < now
