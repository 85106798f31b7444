"""Scoring and alerts answer ready only once their consumer groups have given them their partitions."""

from __future__ import annotations

import uuid

import httpx
import pytest

from bench import clients
from services.common import topics
from tests.infra import wait_until

pytestmark = pytest.mark.integration


def held(admin, group: str, topic: str) -> tuple[str, list[int]]:
    """The group's state and the partitions of `topic` its members hold, together."""
    state, members = clients.group_assignment(admin, group, topic)
    return state, sorted(p for partitions in members.values() for p in partitions)


def test_scoring_and_alerts_are_ready_only_once_their_groups_have_given_them_every_partition(stack, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    app_id, alerts_group = f"scoring-ready-{suffix}", f"alerts-ready-{suffix}"
    admin = clients.admin(stack)
    every = list(range(int(stack.env.get("KAFKA_PARTITIONS", "6"))))
    names = ("scoring-ready", "alerts-ready", "scoring-ready-2")
    try:  # the private groups start at the topics' ends: they redo nothing the session's services did
        clients.position_group(admin, app_id, clients.end_offsets(admin, topics.CANONICAL))
        clients.position_group(admin, alerts_group, clients.end_offsets(admin, topics.SCORES))
        clients.position_group(admin, f"{alerts_group}-projector", clients.end_offsets(admin, topics.ALERT_CHANGES))
        scoring = {"SCORING_APP_ID": app_id}
        stack.start(names[0], "scoring", SCORING_DATA_DIR=str(tmp_path / names[0]), **scoring)  # until /readyz: 200
        assert held(admin, app_id, topics.CANONICAL) == ("Stable", every)
        stack.start(names[1], "alerts", ALERTS_GROUP_ID=alerts_group)
        assert held(admin, alerts_group, topics.SCORES) == ("Stable", every)
        assert held(admin, f"{alerts_group}-projector", topics.ALERT_CHANGES) == ("Stable", every)

        stack.start(names[2], "scoring", SCORING_DATA_DIR=str(tmp_path / names[2]), **scoring)  # a second member
        state, members = clients.group_assignment(admin, app_id, topics.CANONICAL)
        assert state == "Stable" and len(members) == 2 and all(members.values())
        assert sorted(p for partitions in members.values() for p in partitions) == every

        def both_ready() -> bool:
            return all(httpx.get(f"{stack.url_of(n)}/readyz").status_code == 200 for n in (names[0], names[2]))

        wait_until(both_ready, 60, "both scoring workers ready after the rebalance")
    finally:
        for name in names:
            if name in stack.processes:
                stack.processes.pop(name).stop()
        admin.close()
