"""Run one scoring worker: `python -m services.scoring`."""

import sys

from services.common import topics
from services.common.heap import settle_heap
from services.common.settings import ScoringSettings
from services.common.topics import Replication, await_topics, create_missing, partition_counts
from services.common.usage import answer_help
from services.scoring.app import create_app

if __name__ == "__main__":
    answer_help(__doc__)
    settings = ScoringSettings()
    scoring = create_app(settings)
    # The tables' changelogs are created up front with the source topic's partitions: faust creating it while
    # starting can read its metadata before it exists and stop with PartitionsMismatch.
    replication = Replication.of(settings)
    changelogs = [
        replication.topic(
            table.changelog_topic.get_topic_name(), settings.kafka_partitions, {"cleanup.policy": "compact"}
        )
        for table in (scoring.households, scoring.unmatched_people)
    ]
    bootstrap = settings.kafka_bootstrap_servers
    used = [topics.CANONICAL, topics.PERSONS_UNMATCHED, topics.MODEL_ACTIVATIONS, topics.SCORES, topics.SHADOW_SCORES]
    await_topics(bootstrap, [*used, topics.DEADLETTER], settings)  # made by the admin (kafka_provision)
    create_missing(bootstrap, changelogs, settings)  # its own: the ACLs let scoring create topics of its app id
    # Scoring writes a household's state to the changelog partition its events come from, and faust recovers
    # changelog partition P for the worker holding events.canonical partition P: the counts must be equal.
    counts = partition_counts(bootstrap, [topics.CANONICAL, *(c.name for c in changelogs)], settings)
    if len(set(counts.values())) != 1:
        raise SystemExit(f"scoring refuses to start: partition counts differ ({counts}); they must be equal")
    scoring.active_model.load_latest(bootstrap, settings)  # the active model is in use from the first event
    settle_heap(settings.gc_young_threshold)
    sys.argv = [sys.argv[0], "worker", "--without-web", "--loglevel", "info", *sys.argv[1:]]
    scoring.app.main()
