#!/usr/bin/env bash
# The real Apache Kafka broker (KRaft) from Maven Central: one node, or one node of a cluster.
#   kafka.sh fetch                         download the broker into .cache/kafka/libs (once)
#   kafka.sh run PORT CONTROLLER_PORT DIR  format DIR if new, then run a single-node broker in the foreground
#   kafka.sh node ID PORT CONTROLLER_PORT DIR VOTERS CLUSTER_ID
#                                          the same for node ID of a cluster whose controllers are VOTERS
#                                          (`1@127.0.0.1:9093,2@127.0.0.1:9193,...`): each node is broker and
#                                          controller; Kafka's own topics get one replica per voter (at most 3)
#                                          and min.insync.replicas 2 (1 alone); KAFKA_HEAP sets its heap (1g)
#   kafka.sh wait PORT [SECONDS]           wait until the broker accepts connections
# Every client authenticates (SASL/SCRAM-SHA-512 on the client listener) and is authorised by ACLs (StandardAuthorizer,
# deny when no ACL matches). KAFKA_ADMIN_PASSWORD (required) is the password of the `admin` super user, created when
# DIR is formatted (`--add-scram`); brokers replicate over the client listener as admin. The controller listener
# stays on loopback with SASL/PLAIN (SCRAM cannot authenticate controllers: their users live in the metadata they
# serve) and its own `controller` user, KAFKA_CONTROLLER_PASSWORD (default: the admin's). Service users and their
# ACLs are made by `python -m services.common.kafka_provision` (as admin), never by the broker.
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
  node 1 "$port" "$controller" "$dir" "1@127.0.0.1:$controller" ""
}

node() {
  local id="$1" port="$2" controller="$3" dir="$4" voters="$5" cluster="$6"
  fetch
  local admin_password="${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD must hold the Kafka admin password}"
  local controller_password="${KAFKA_CONTROLLER_PASSWORD:-$admin_password}"
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"
  local replicas isr
  replicas="$(tr ',' '\n' <<< "$voters" | wc -l)"
  [ "$replicas" -gt 3 ] && replicas=3
  isr=$((replicas > 1 ? 2 : 1))
  (umask 077; : > "$dir/server.properties")  # it holds the passwords of admin and controller
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=CLIENT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=CLIENT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT
inter.broker.listener.name=CLIENT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller_password" user_controller="$controller_password";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
default.replication.factor=$replicas
min.insync.replicas=$isr
offsets.topic.replication.factor=$replicas
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
PROPS
  local java_opts=(-Xms256m -Xmx${KAFKA_HEAP:-1g} -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$libs/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -n "$cluster" ] || cluster="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster" -c "$dir/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_password]" > /dev/null
    touch "$dir/scram-admin"  # run.sh: a folder formatted before authentication has no admin user
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
  node) shift; node "$@" ;;
  wait) shift; wait_for "$@" ;;
  *) echo "usage: $0 fetch | run PORT CONTROLLER_PORT DIR | node ID PORT CONTROLLER_PORT DIR VOTERS CLUSTER_ID | wait PORT [SECONDS]" >&2; exit 2 ;;
esac
