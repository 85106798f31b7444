"""Make the Kafka side of a deployment, as the admin principal: the topics, each service's and each department's SCRAM
user, and the ACLs of `services.common.kafka_acls` (idempotent: run it again to add a department or rotate a
password). `python -m services.common.kafka_provision` reads the passwords from the environment (KAFKA_<NAME>_PASSWORD,
KAFKA_UPSTREAMS); a principal without a password keeps the one it has."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    UserScramCredentialUpsertion,
)
from kafka.errors import NoError
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from tenacity import retry, stop_after_delay, wait_fixed

from services.common import kafka_acls, topics
from services.common.kafka_acls import Grant
from services.common.kafka_auth import MECHANISM, KafkaCredentials, client_options
from services.common.usage import answer_help

log = logging.getLogger(__name__)
_RESOURCES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}


class ProvisionSettings(KafkaCredentials):
    """The admin's connection and the passwords of the principals to make (a missing one: left as it is)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_min_insync_replicas: int = Field(default=1, ge=1)
    kafka_ingest_password: SecretStr | None = None
    kafka_scoring_password: SecretStr | None = None
    kafka_alerts_password: SecretStr | None = None
    kafka_api_password: SecretStr | None = None
    kafka_jobs_password: SecretStr | None = None
    kafka_analyst_password: SecretStr | None = None
    kafka_upstream_password: SecretStr | None = Field(default=None, description="the `upstream` principal's")
    kafka_upstreams: dict[str, SecretStr] = Field(
        default_factory=dict, description='more departments: {"upstream-civil-affairs": "password", ...} (JSON)'
    )

    def passwords(self) -> dict[str, str]:
        """Principal → password, for every principal given one."""
        named = {name: getattr(self, f"kafka_{name}_password") for name in kafka_acls.SERVICES}
        named[kafka_acls.UPSTREAM] = self.kafka_upstream_password
        named |= self.kafka_upstreams
        return {name: secret.get_secret_value() for name, secret in named.items() if secret is not None}

    def upstreams(self) -> tuple[str, ...]:
        """The department principals: `upstream` and those of KAFKA_UPSTREAMS."""
        return (kafka_acls.UPSTREAM, *self.kafka_upstreams)


def acl_bindings(principal: str, grants: Iterable[Grant]) -> list[ACL]:
    """Kafka ACL bindings allowing `principal` what `grants` say, from any host."""
    return [
        ACL(
            f"User:{principal}",
            "*",
            ACLOperation[operation.upper()],
            ACLPermissionType.ALLOW,
            ResourcePattern(
                _RESOURCES[grant.resource],
                grant.name,
                ACLResourcePatternType.PREFIXED if grant.prefixed else ACLResourcePatternType.LITERAL,
            ),
        )
        for grant in grants
        for operation in grant.operations
    ]


def admin_client(bootstrap: str, credentials: KafkaCredentials | None = None) -> KafkaAdminClient:
    """An admin client authenticated as `credentials` (None: this process's environment)."""
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="shouwang-provision", **client_options(credentials))


def set_passwords(admin: KafkaAdminClient, passwords: Mapping[str, str]) -> None:
    """Create or change the SCRAM-SHA-512 credential of each principal (a rotated one: restart its service)."""
    if not passwords:
        return
    upserts = [UserScramCredentialUpsertion(name, MECHANISM, password) for name, password in passwords.items()]
    failed = {name: why for name, why in admin.alter_user_scram_credentials(upserts).items() if why}
    if failed:
        raise RuntimeError(f"Kafka refused SCRAM credentials: {failed}")


def grant(admin: KafkaAdminClient, principal: str, grants: Iterable[Grant]) -> None:
    """Create the ACLs of `grants` for `principal` (those that exist already stay as they are)."""
    bindings = acl_bindings(principal, grants)
    if bindings:
        refused = admin.create_acls(bindings)["failed"]
        if refused:
            raise RuntimeError(f"Kafka refused ACLs of {principal}: {refused}")


def reconcile(admin: KafkaAdminClient, principal: str, grants: Iterable[Grant]) -> list[ACL]:
    """Make `principal`'s ACLs exactly those of `grants`: create the missing, delete any other (a grant the table no
    longer holds); returns the deleted ones."""
    wanted = acl_bindings(principal, grants)
    grant(admin, principal, grants)
    everything = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    query = ACLFilter(f"User:{principal}", None, ACLOperation.ANY, ACLPermissionType.ANY, everything)
    found, error = admin.describe_acls(query)
    if error is not NoError:
        raise RuntimeError(f"Kafka would not list the ACLs of {principal}: {error}")
    extra = [acl for acl in found if acl not in wanted]
    if extra:
        admin.delete_acls(extra)
    return extra


@retry(stop=stop_after_delay(120), wait=wait_fixed(1), reraise=True)
def provision(settings: ProvisionSettings, make_topics: bool = True) -> None:
    """Topics (with `make_topics`), users and every principal's ACLs (exactly the table's: others are deleted);
    waits up to two minutes for the brokers."""
    if make_topics:
        replication = topics.Replication.of(settings)
        topics.ensure_topics(settings.kafka_bootstrap_servers, settings.kafka_partitions, (), replication, settings)
    admin = admin_client(settings.kafka_bootstrap_servers, settings)
    try:
        set_passwords(admin, settings.passwords())
        for principal, grants in kafka_acls.service_grants().items():
            reconcile(admin, principal, grants)
        for principal in settings.upstreams():
            reconcile(admin, principal, kafka_acls.upstream_grants())
    finally:
        with contextlib.suppress(Exception):
            admin.close()


if __name__ == "__main__":
    answer_help(__doc__)
    logging.basicConfig(level=logging.WARNING)
    chosen = ProvisionSettings()
    provision(chosen)
    print(f"Kafka: topics, {len(chosen.passwords())} users and the ACLs of {', '.join(kafka_acls.SERVICES)} and "
          f"{', '.join(chosen.upstreams())} in place")  # fmt: skip
