"""A faust worker whose agent does nothing: the floor of faust's stream machinery (`python -m bench.bare`)."""

from __future__ import annotations

import os
import sys
from typing import Any

import faust

from services.common import topics

app = faust.App(
    os.environ["BARE_APP_ID"],
    broker=f"kafka://{os.environ['KAFKA_BOOTSTRAP_SERVERS']}",
    store="memory://",
    datadir=os.environ.get("BARE_DATA_DIR", "/tmp/bare-faust"),
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    broker_commit_interval=0.5,  # the bench times it by its commits: commit often
)
canonical_events = app.topic(topics.CANONICAL, key_serializer="raw", value_serializer="raw", internal=False)


@app.agent(canonical_events)
async def do_nothing(stream: Any) -> None:
    """Read every event and do nothing with it."""
    async for _ in stream:
        pass


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "--without-web", "--loglevel", "info"]
    app.main()
