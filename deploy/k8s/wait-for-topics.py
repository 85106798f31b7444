"""Init container: wait until every topic in $TOPICS exists (Strimzi's topic operator creates them from the
KafkaTopic resources, three replicas each); a service started earlier would create a missing one with one replica."""

import os
import sys
import time

from kafka.admin import KafkaAdminClient

wanted = set(os.environ["TOPICS"].split(","))
deadline = time.monotonic() + float(os.environ.get("WAIT_SECONDS", "900"))
while True:
    try:
        admin = KafkaAdminClient(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], client_id="wait-for-topics")
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
