"""The probes of scoring and alerts: ready only while the consumer holds its group's assignment."""

from __future__ import annotations

import asyncio

import httpx

from services.common.probes import GroupMember, serve_probes
from tests.infra import free_port


def test_readyz_answers_503_until_the_group_assigns_partitions_and_again_from_a_revocation_until_the_next():
    async def scenario() -> list[int]:
        member, port = GroupMember(), free_port()

        async def readiness() -> dict[str, bool]:
            return {"group": member.assigned}

        server = await serve_probes("127.0.0.1", port, readiness)
        statuses = []
        async with server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            statuses.append((await client.get("/readyz")).status_code)
            await member.on_partitions_assigned([])  # an empty share counts: more members than partitions
            statuses.append((await client.get("/readyz")).status_code)
            await member.on_partitions_revoked([])
            statuses.append((await client.get("/readyz")).status_code)
            statuses.append((await client.get("/readyz")).json()["checks"] == {"group": False})
            statuses.append((await client.get("/healthz")).status_code)
            statuses.append((await client.get("/nowhere")).status_code)
            metrics = await client.get("/metrics")
            statuses.append(metrics.status_code if "python_info" in metrics.text else 0)
        return statuses

    assert asyncio.run(scenario()) == [503, 200, 503, True, 200, 404, 200]
    assert GroupMember().ever_assigned is False
