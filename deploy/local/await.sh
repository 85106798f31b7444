#!/usr/bin/env bash
# Waits for the local Kafka broker and Redis (ports from run.sh's environment) before a service starts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/kafka.sh" wait "$KAFKA_PORT" 120
"$here/redis.sh" wait "$REDIS_PORT" 60
