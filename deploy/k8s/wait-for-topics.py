"""Init container: wait until every topic in $TOPICS exists (Strimzi's topic operator creates them from the
KafkaTopic resources, three replicas each), connected as the service's KafkaUser (KAFKA_USERNAME, KAFKA_PASSWORD,
KAFKA_SSL_CAFILE): it sees the topics its ACLs allow, which are those the Deployment lists."""

import os
import sys
import time

from kafka.admin import KafkaAdminClient

from services.common.kafka_auth import client_options

wanted = set(os.environ["TOPICS"].split(","))
deadline = time.monotonic() + float(os.environ.get("WAIT_SECONDS", "900"))
while True:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], client_id="wait-for-topics", **client_options()
        )
        try:
            missing = wanted - set(admin.list_topics())
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - the broker may not answer yet
        missing = {f"(no broker yet: {exc})"}
    if not missing:
        sys.exit(0)
    if time.monotonic() > deadline:
        sys.exit(f"topics still missing: {sorted(missing)}")
    print(f"waiting for {sorted(missing)}", flush=True)
    time.sleep(5)
