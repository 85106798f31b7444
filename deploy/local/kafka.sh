#!/usr/bin/env bash
# The real Apache Kafka broker (KRaft, single node) from Maven Central.
#   kafka.sh fetch                         download the broker into .cache/kafka/libs (once)
#   kafka.sh run PORT CONTROLLER_PORT DIR  format DIR if new, then run the broker in the foreground
#   kafka.sh wait PORT [SECONDS]           wait until the broker accepts connections
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
libs="${KAFKA_LIBS:-$root/.cache/kafka/libs}"

fetch() {
  if compgen -G "$libs/kafka_2.13-*.jar" > /dev/null; then return 0; fi
  command -v mvn > /dev/null || { echo "Maven (mvn) is required to fetch Kafka: install it (Debian: apt-get install maven)." >&2; exit 1; }
  echo "Fetching Apache Kafka from Maven Central into $libs ..." >&2
  mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" package -Dkafka.libs="$libs"
}

run() {
  local port="$1" controller="$2" dir="$3"
  fetch
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  local java_opts=(-Xms256m -Xmx${KAFKA_HEAP:-1g} -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$libs/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster
    cluster="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster" -c "$dir/server.properties" > /dev/null
  fi
  exec java "${java_opts[@]}" kafka.Kafka "$dir/server.properties"
}

wait_for() {
  local port="$1" seconds="${2:-60}"
  for _ in $(seq 1 $((seconds * 4))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; then return 0; fi
    sleep 0.25
  done
  echo "Kafka did not answer on port $port within ${seconds}s" >&2
  exit 1
}

case "${1:-}" in
  fetch) fetch ;;
  run) shift; run "$@" ;;
  wait) shift; wait_for "$@" ;;
  *) echo "usage: $0 fetch | run PORT CONTROLLER_PORT DIR | wait PORT [SECONDS]" >&2; exit 2 ;;
esac
