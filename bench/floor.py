"""What reading the same events costs without scoring: a bare aiokafka consumer and a faust agent doing nothing."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiokafka import AIOKafkaConsumer
from kafka import TopicPartition

from bench import clients
from bench.stack import BenchStack
from services.common.kafka_auth import client_options
from tests.infra import Process, Stack, spawn

BARE_READY = "[^Worker]: Ready"


async def raw_consume(stack: Stack, start: dict[TopicPartition, int], end: dict[TopicPartition, int]) -> float:
    """Seconds a bare aiokafka consumer (no group, JSON decoding only) takes to read start..end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap, **client_options(), enable_auto_commit=False, client_id="bench-raw"
    )
    await consumer.start()
    try:
        consumer.assign(list(end))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        remaining, began = sum(end[tp] - start[tp] for tp in end), time.monotonic()
        while remaining > 0:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                for message in messages:
                    json.loads(message.value or b"null")
                remaining -= len(messages)
        return time.monotonic() - began
    finally:
        await consumer.stop()


def _start_bare(bench: BenchStack, name: str, app_id: str) -> Process:
    env = {**bench.services.env, "BARE_APP_ID": app_id, "BARE_DATA_DIR": str(bench.workdir / app_id)}
    process = spawn(name, [sys.executable, "-m", "bench.bare"], env)
    bench.usage.watch(name, process.popen.pid)
    return process


async def bare_faust(bench: BenchStack, start: dict[TopicPartition, int], end: dict[TopicPartition, int]) -> float:
    """Seconds a faust worker whose agent does nothing (bench/bare.py) takes from ready to committing start..end."""
    app_id, name = f"bench-bare-{int(time.time())}", "bare-faust"
    admin = clients.admin(bench.services)
    try:
        clients.position_group(admin, app_id, start)
        offset = bench.log_offset(name)
        process = _start_bare(bench, name, app_id)
        try:
            ready = await bench.wait_for_log(name, BARE_READY, offset, 180)
            while True:
                done = clients.committed(admin, app_id, list(end))
                if all(done[tp] >= end[tp] for tp in end):
                    return time.monotonic() - ready
                if process.popen.poll() is not None:
                    raise RuntimeError(f"the bare faust worker exited with {process.popen.returncode}")
                await asyncio.sleep(0.2)
        finally:
            process.stop()
    finally:
        admin.close()
