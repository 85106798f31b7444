"""Run one scoring worker: `python -m services.scoring`."""

import sys

from services.common.topics import ensure_topics
from services.scoring.app import app, settings

if __name__ == "__main__":
    ensure_topics(settings.kafka_bootstrap_servers, settings.kafka_partitions)
    sys.argv = [sys.argv[0], "worker", "--without-web", "--loglevel", "info", *sys.argv[1:]]
    app.main()
