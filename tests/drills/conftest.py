"""The drills run only when asked for (`-m drills`, as `make drills` does): a plain `pytest` leaves them out."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the drills unless the marker expression names them."""
    if "drills" in (config.getoption("markexpr") or ""):
        return
    drills = [item for item in items if item.get_closest_marker("drills")]
    if drills:
        config.hook.pytest_deselected(items=drills)
        items[:] = [item for item in items if not item.get_closest_marker("drills")]
