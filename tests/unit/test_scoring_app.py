"""The scoring worker is made by `create_app(settings)`: importing its modules reads no setting or policy and makes no
faust app; the worker refuses a bad policy before it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common import topics
from services.common.settings import ScoringSettings
from services.scoring import faust_adapter
from services.scoring.app import create_app

ROOT = Path(__file__).resolve().parents[2]
IMPORT_ONLY = """
import gc
import faust
import services.scoring.__main__, services.scoring.app
assert not [found for found in gc.get_objects() if isinstance(found, faust.App)], "a faust app made at import"
"""


def test_importing_the_scoring_worker_reads_no_policy_and_makes_no_app(tmp_path):
    env = {**os.environ, "POLICY_DIR": str(tmp_path)}  # no policy file: loading the policy would stop the process
    done = subprocess.run([sys.executable, "-c", IMPORT_ONLY], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_worker_with_a_bad_policy_refuses_to_start(tmp_path):
    with pytest.raises(SystemExit, match="scoring refuses to start: bad policy"):
        create_app(ScoringSettings(policy_dir=tmp_path))


def test_a_worker_scores_canonical_events_in_batches_and_keeps_its_tables_warm():
    scoring = create_app(ScoringSettings())
    assert scoring.app.transport.batch_handlers.keys() == {topics.CANONICAL}  # type: ignore[attr-defined]
    for table in (scoring.households, scoring.unmatched_people):
        assert faust_adapter.warm_store(table).table is table
