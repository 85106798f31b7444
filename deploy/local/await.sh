#!/usr/bin/env bash
# `make run`'s waits (ports from run.sh's environment):
#   await.sh         wait for the local Kafka broker and Redis, before a service starts; the first to get here in a
#                    `make run` makes the topics, the Kafka principals and their ACLs (services/common/kafka_provision.py)
#   await.sh ready   wait until every service's /readyz answers 200 (scoring and alerts: their consumer groups have
#                    given them their partitions), print "Shouwang is ready", then stay (honcho stops all when one ends)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ "${1:-}" = ready ]; then  # one process (exec): honcho's SIGTERM reaches the waiting Python itself
  exec "$root/.venv/bin/python" - "$INGEST_PORT" "$API_PORT" "$SCORING_METRICS_PORT" "$ALERTS_METRICS_PORT" <<'PY'
import contextlib
import sys
import time

import httpx

def ready(port: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False

with contextlib.suppress(KeyboardInterrupt):
    while not all(ready(port) for port in sys.argv[1:]):
        time.sleep(0.5)
    print("Shouwang is ready: ingest, api, scoring and alerts answer /readyz, every consumer group holds its partitions.", flush=True)
    while True:
        time.sleep(3600)
PY
fi
"$here/kafka.sh" wait "$KAFKA_PORT" 120
(
  flock 9
  if [ ! -f "$STATE_DIR/kafka-provisioned" ]; then
    KAFKA_USERNAME=admin KAFKA_PASSWORD="$KAFKA_ADMIN_PASSWORD" "$root/.venv/bin/python" -m services.common.kafka_provision
    touch "$STATE_DIR/kafka-provisioned"
  fi
) 9> "$STATE_DIR/kafka-provision.lock"
"$here/redis.sh" wait "$REDIS_PORT" 60
