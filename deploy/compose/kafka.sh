#!/usr/bin/env bash
# docker-compose.yml's broker (apache/kafka image): KRaft, one node, every client authenticated with SASL/SCRAM-SHA-512
# and authorised by ACLs (StandardAuthorizer, deny when no ACL matches). `admin` (KAFKA_ADMIN_PASSWORD) is the only
# super user besides the controller's own user; it is created when the data volume is formatted, and the kafka-setup
# service makes the services' users and ACLs as admin (services/common/kafka_provision.py). Listeners: CLIENT (other
# containers, kafka:9092), HOST (clients on the host, 127.0.0.1:$KAFKA_HOST_PORT), both SCRAM; CONTROLLER
# (SASL/PLAIN, user `controller`: SCRAM cannot authenticate controllers) on the container's loopback only.
set -euo pipefail
admin="${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD}"
controller="${KAFKA_CONTROLLER_PASSWORD:?set KAFKA_CONTROLLER_PASSWORD}"
data=/var/lib/kafka/data
config=/tmp/server.properties
(umask 077; : > "$config")
cat > "$config" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=CLIENT://:9092,CONTROLLER://127.0.0.1:9093,HOST://:9094
advertised.listeners=CLIENT://kafka:9092,HOST://127.0.0.1:${KAFKA_HOST_PORT:-9094}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,HOST:SASL_PLAINTEXT
inter.broker.listener.name=CLIENT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller" user_controller="$controller";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
log.dirs=$data
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
# the healthcheck's own connection, as admin (kafka-broker-api-versions.sh --command-config)
(umask 077; printf '%s\n' 'security.protocol=SASL_PLAINTEXT' 'sasl.mechanism=SCRAM-SHA-512' \
  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$admin\";" \
  > /tmp/admin.properties)
if [ ! -f "$data/meta.properties" ]; then
  /opt/kafka/bin/kafka-storage.sh format -t "${CLUSTER_ID:?set CLUSTER_ID}" -c "$config" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$admin]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
