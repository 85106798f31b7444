"""A service settles its heap after startup: startup's objects frozen out of collections, a higher young threshold."""

import subprocess
import sys

from services.common.settings import REPO_ROOT

SETTLE = """
import gc
from services.common.heap import settle_heap
settle_heap(12345)
print(gc.get_threshold()[0], gc.get_freeze_count() > 1000)
"""


def test_settling_freezes_what_startup_built_and_sets_the_young_threshold():
    result = subprocess.run([sys.executable, "-c", SETTLE], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["12345", "True"]
