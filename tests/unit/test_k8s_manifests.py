"""deploy/k8s holds valid Kubernetes and Strimzi resources whose pieces fit together.

Validated: every core resource (Deployment, StatefulSet, Service, PVC, Namespace, and the ConfigMaps and Secret the
kustomization generates) against the real Kubernetes OpenAPI schemas bundled in kubernetes-validate, strict (an
unknown or misspelt field fails); the Strimzi resources (Kafka, KafkaNodePool, KafkaTopic) against
strimzi_structure.yaml: apiVersion kafka.strimzi.io/v1beta2, the spec fields the operator requires, no other field.
Cross-checked: Service selectors and ports, the settings and secrets each service needs, topics and partitions,
probes, resources, volumes. Rendered with `kubectl kustomize` when kubectl is installed (skipped otherwise). Not
validated: the Strimzi CRDs' full schemas (not vendored here) and what only a cluster can tell (storage classes, the
image, the operator's reconciliation).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from services.common import kafka_acls
from services.common.settings import AlertsSettings, ApiSettings, IngestSettings, JobsSettings, ScoringSettings
from services.common.topics import Replication, topic_specs
from services.scoring.app import create_app

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSIONS = ("1.31", "1.37")  # the oldest and newest minor releases the manifests are checked against
SETTINGS: dict[str, list[type[BaseSettings]]] = {
    "ingest": [IngestSettings],
    "scoring": [ScoringSettings],
    "alerts": [AlertsSettings],
    "api": [ApiSettings, ScoringSettings],  # the API also runs the model registry
    "jobs": [JobsSettings, ScoringSettings],  # trainings register models
}
FIELDS = {
    name: {f.upper(): i for c in classes for f, i in c.model_fields.items()} for name, classes in SETTINGS.items()
}
STRIMZI = "kafka.strimzi.io/v1beta2"
STRIMZI_STRUCTURE = Path(__file__).with_name("strimzi_structure.yaml")
STRIMZI_SPECS: dict[str, dict[str, Any]] = yaml.safe_load(STRIMZI_STRUCTURE.read_text(encoding="utf-8"))["kinds"]
NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}  # a DNS-1123 subdomain


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _env_file(name: str) -> dict[str, str]:
    lines = (K8S / name).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


KUSTOMIZATION = _load(K8S / "kustomization.yaml")[0]
FILES = KUSTOMIZATION["resources"]
RESOURCES = [doc for name in FILES for doc in _load(K8S / name)]


def _generated() -> list[dict[str, Any]]:
    """The ConfigMaps and Secret the kustomization generates, as kustomize writes them (less the name's hash)."""
    made = []
    for kind, field in (("ConfigMap", "data"), ("Secret", "stringData")):
        for entry in KUSTOMIZATION[f"{kind[0].lower()}{kind[1:]}Generator"]:
            data: dict[str, str] = {}
            for env in entry.get("envs", []):  # secrets.env is not in the repository: its example has the same keys
                data |= _env_file(f"{env}.example" if kind == "Secret" else env)
            data |= {Path(file).name: (K8S / file).read_text(encoding="utf-8") for file in entry.get("files", [])}
            data |= dict(literal.split("=", 1) for literal in entry.get("literals", []))
            made.append({"apiVersion": "v1", "kind": kind, "metadata": {"name": entry["name"]}, field: data})
    return made


GENERATED = {doc["metadata"]["name"]: doc for doc in _generated()}
CORE = [doc for doc in [*RESOURCES, *GENERATED.values()] if not doc["apiVersion"].startswith("kafka.strimzi.io")]
WORKLOADS = [doc for doc in RESOURCES if doc["kind"] in ("Deployment", "StatefulSet")]
APPS = {doc["metadata"]["name"]: doc for doc in WORKLOADS if doc["metadata"]["name"] in SETTINGS}
TOPICS = {doc["spec"]["topicName"]: doc for doc in RESOURCES if doc["kind"] == "KafkaTopic"}
SETTINGS_ENV = GENERATED["shouwang-settings"]["data"]
USERS = {doc["metadata"]["name"]: doc for doc in RESOURCES if doc["kind"] == "KafkaUser"}
CLUSTER_CA = "shouwang-cluster-ca-cert"  # Secrets Strimzi makes: the cluster CA, and one per KafkaUser
STRIMZI_SECRETS = {CLUSTER_CA, *USERS}


def _named(kind: str, name: str) -> dict[str, Any]:
    [doc] = [doc for doc in RESOURCES if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return doc


def _container(name: str) -> dict[str, Any]:
    return APPS[name]["spec"]["template"]["spec"]["containers"][0]


def _secret(field: FieldInfo) -> bool:
    return field.annotation in (SecretStr, SecretStr | None)


def _references(node: Any) -> Iterator[str]:
    """Names of the ConfigMaps and Secrets that `node` (any part of a manifest) refers to."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("configMapRef", "configMapKeyRef", "secretRef", "secretKeyRef", "configMap"):
                yield value["name"]
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _provided(container: dict[str, Any]) -> dict[str, str]:
    """Each variable the container gets, and whether it comes from the ConfigMap ("config") or the Secret ("secret")."""
    provided: dict[str, str] = {}
    for source in container.get("envFrom", []):
        kind = "config" if "configMapRef" in source else "secret"
        generated = GENERATED[(source.get("configMapRef") or source["secretRef"])["name"]]
        provided |= dict.fromkeys(generated.get("data") or generated["stringData"], kind)
    for env in container.get("env", []):
        provided[env["name"]] = "secret" if "secretKeyRef" in env.get("valueFrom", {}) else "config"
    return provided


def test_every_manifest_in_the_folder_is_listed_in_the_kustomization():
    assert sorted(FILES) == sorted(path.name for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (and its kustomize) is not installed")
def test_kustomize_renders_the_folder_into_one_namespace_with_the_generated_names_filled_in(tmp_path):
    folder = shutil.copytree(K8S, tmp_path / "k8s", ignore=shutil.ignore_patterns("secrets.env"))
    shutil.copy(folder / "secrets.env.example", folder / "secrets.env")
    result = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(rendered) == len(RESOURCES) + len(GENERATED)
    assert {doc["metadata"].get("namespace") for doc in rendered if doc["kind"] != "Namespace"} == {"shouwang"}
    made = {doc["metadata"]["name"] for doc in rendered if doc["kind"] in ("ConfigMap", "Secret")}
    references = set(_references(rendered)) - STRIMZI_SECRETS
    assert references and references <= made, "a reference to a generated ConfigMap or Secret kept its bare name"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("doc", CORE, ids=lambda doc: f"{doc['kind']}/{doc['metadata']['name']}")
def test_every_core_resource_is_valid_against_the_kubernetes_schemas(doc, version):
    kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize(
    "doc",
    [doc for doc in RESOURCES if doc["kind"] in STRIMZI_SPECS],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_every_strimzi_resource_has_what_the_operator_requires(doc):
    spec = {"type": "object", "additionalProperties": False, **STRIMZI_SPECS[doc["kind"]]}
    schema = {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": STRIMZI},
            "metadata": {"type": "object", "required": ["name"], "properties": {"name": NAME}},
            "spec": spec,
        },
    }
    jsonschema.validate(doc, schema)
    if doc["kind"] != "Kafka":
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == _named("Kafka", "shouwang")["metadata"]["name"]


def test_kafka_runs_in_kraft_mode_with_node_pools_that_are_controllers_and_brokers():
    kafka, pool = _named("Kafka", "shouwang"), _named("KafkaNodePool", "dual-role")
    assert kafka["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    assert "zookeeper" not in kafka["spec"]
    assert set(pool["spec"]["roles"]) == {"controller", "broker"} and pool["spec"]["replicas"] >= 3
    config = kafka["spec"]["kafka"]["config"]
    assert config["auto.create.topics.enable"] is False and config["min.insync.replicas"] >= 2


def test_every_topic_of_the_system_is_a_kafka_topic_with_the_configured_partitions_replicas_and_retention():
    replication = Replication(
        int(SETTINGS_ENV["KAFKA_REPLICATION_FACTOR"]), int(SETTINGS_ENV["KAFKA_MIN_INSYNC_REPLICAS"])
    )
    config = _named("Kafka", "shouwang")["spec"]["kafka"]["config"]
    assert (replication.factor, replication.min_insync) == (
        config["default.replication.factor"],
        config["min.insync.replicas"],
    )
    assert replication.factor <= _named("KafkaNodePool", "dual-role")["spec"]["replicas"]
    for spec in topic_specs(int(SETTINGS_ENV["KAFKA_PARTITIONS"]), replication):
        topic = TOPICS[spec.name]["spec"]
        assert (topic["partitions"], topic["replicas"]) == (spec.num_partitions, spec.replication_factor), spec.name
        assert topic.get("config", {}) == spec.topic_configs, spec.name


def test_household_keyed_topics_have_at_least_six_partitions():
    assert int(SETTINGS_ENV["KAFKA_PARTITIONS"]) >= 6
    keyed = [spec for spec in topic_specs(6) if spec.num_partitions == 6]
    assert keyed and all(TOPICS[spec.name]["spec"]["partitions"] >= 6 for spec in keyed)


def test_scoring_tables_and_assignor_have_their_topics_made_by_strimzi_too():
    scoring = create_app(ScoringSettings())
    for table in (scoring.households, scoring.unmatched_people):
        topic = TOPICS[table.changelog_topic.get_topic_name()]["spec"]
        assert topic["partitions"] == int(SETTINGS_ENV["KAFKA_PARTITIONS"])
        assert topic["config"] == {
            "cleanup.policy": "compact",
            "min.insync.replicas": SETTINGS_ENV["KAFKA_MIN_INSYNC_REPLICAS"],
        }
    assert f"{scoring.app.conf.id}-__assignor-__leader" in TOPICS


def test_scoring_workers_are_no_more_than_the_partitions_they_share():
    workers = APPS["scoring"]["spec"]["replicas"]
    assert 1 <= workers <= min(TOPICS[name]["spec"]["partitions"] for name in ("events.canonical", "persons.unmatched"))


@pytest.mark.parametrize("name", SETTINGS)
def test_every_service_waits_as_its_kafka_user_for_every_kafka_topic_it_may_use_before_it_starts(name):
    [init] = APPS[name]["spec"]["template"]["spec"]["initContainers"]
    assert "wait-for-topics.py" in " ".join(init["command"])
    env = {variable["name"]: variable for variable in init["env"]}
    assert set(env["TOPICS"]["value"].split(",")) == _visible(USERS[name]) and _visible(USERS[name])
    assert env["KAFKA_USERNAME"]["value"] == name
    assert env["KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": name, "key": "password"}


def _grants(user: dict[str, Any]) -> set[tuple[str, str, bool, str]]:
    """(resource type, name, prefixed, operation) of each ACL of a KafkaUser."""
    return {
        (acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"] == "prefix", operation)
        for acl in user["spec"]["authorization"]["acls"]
        for operation in acl["operations"]
    }


def _visible(user: dict[str, Any]) -> set[str]:
    """The KafkaTopics a KafkaUser's ACLs let it see."""
    granted = {(name, prefixed) for kind, name, prefixed, _ in _grants(user) if kind == "topic"}
    return {t for t in TOPICS if any(t.startswith(n) if prefixed else t == n for n, prefixed in granted)}


def test_the_kafka_users_are_the_principals_of_the_acl_table_with_exactly_its_acls():
    table = {**kafka_acls.service_grants(), kafka_acls.UPSTREAM: kafka_acls.upstream_grants()}
    assert set(USERS) == set(table)
    for name, grants in table.items():
        expected = {(g.resource, g.name, g.prefixed, op) for g in grants for op in g.operations}
        assert _grants(USERS[name]) == expected, name
        assert USERS[name]["spec"]["authentication"]["type"] == "scram-sha-512"
        assert {acl.get("host", "*") for acl in USERS[name]["spec"]["authorization"]["acls"]} == {"*"}


@pytest.mark.parametrize("name", SETTINGS)
def test_every_service_connects_as_its_own_kafka_user_over_tls_with_the_cluster_ca_mounted(name):
    pod = APPS[name]["spec"]["template"]["spec"]
    env = {variable["name"]: variable for variable in _container(name)["env"]}
    assert env["KAFKA_USERNAME"]["value"] == name
    assert env["KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": name, "key": "password"}
    [volume] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == CLUSTER_CA]
    [mount] = [m for m in _container(name)["volumeMounts"] if m["name"] == volume["name"]]
    assert env["KAFKA_SSL_CAFILE"]["value"] == f"{mount['mountPath']}/ca.crt" and mount["readOnly"]


@pytest.mark.parametrize(
    "service", [doc for doc in RESOURCES if doc["kind"] == "Service"], ids=lambda d: d["metadata"]["name"]
)
def test_every_service_selector_matches_a_workloads_pod_labels_and_port(service):
    selector = service["spec"]["selector"]
    pods = [w["spec"]["template"] for w in WORKLOADS]
    matching = [pod for pod in pods if selector.items() <= pod["metadata"]["labels"].items()]
    assert len(matching) == 1, f"{service['metadata']['name']} selects {len(matching)} workloads"
    ports = {port["name"] for container in matching[0]["spec"]["containers"] for port in container.get("ports", [])}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_a_service_requires_is_provided_and_secrets_come_from_the_secret(name):
    provided = _provided(_container(name))
    for variable, field in FIELDS[name].items():
        if field.is_required():
            assert variable in provided, f"{name} needs {variable}"
        if _secret(field) and variable in provided:
            assert provided[variable] == "secret", f"{variable} must come from the Secret"


@pytest.mark.parametrize("name", SETTINGS)
def test_every_variable_given_to_a_service_is_a_setting_of_some_service_and_its_own_secrets_of_its_own(name):
    assert set(SETTINGS_ENV) - {variable for fields in FIELDS.values() for variable in fields} == set()
    assert {env["name"] for env in _container(name).get("env", [])} - set(FIELDS[name]) == set()


def test_required_secrets_are_generated_from_a_git_ignored_file_whose_keys_the_example_lists():
    [generator] = KUSTOMIZATION["secretGenerator"]
    assert generator["envs"] == ["secrets.env"]
    assert "deploy/k8s/secrets.env" in (K8S.parents[1] / ".gitignore").read_text(encoding="utf-8").split()
    used = {
        env["valueFrom"]["secretKeyRef"]["key"]
        for c in map(_container, SETTINGS)
        for env in c.get("env", [])
        if env.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "shouwang-secrets"
    }
    assert used == set(_env_file("secrets.env.example"))
    secrets = {variable for fields in FIELDS.values() for variable, field in fields.items() if _secret(field)}
    assert secrets & set(SETTINGS_ENV) == set(), "a secret in the ConfigMap"


def test_the_services_reach_kafka_and_redis_by_their_service_names():
    kafka, redis = _named("Kafka", "shouwang"), _named("Service", "redis")
    [listener] = kafka["spec"]["kafka"]["listeners"]  # TLS with SCRAM only: no plain listener any pod could reach
    assert listener["tls"] and listener["authentication"] == {"type": "scram-sha-512"}
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert SETTINGS_ENV["KAFKA_BOOTSTRAP_SERVERS"] == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    url = urlparse(SETTINGS_ENV["REDIS_URL"])
    assert (url.hostname, url.port) == ("redis", redis["spec"]["ports"][0]["port"])


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("ingest", "INGEST_PORT"),
        ("api", "API_PORT"),
        ("scoring", "SCORING_METRICS_PORT"),
        ("alerts", "ALERTS_METRICS_PORT"),
    ],
)
def test_every_service_listens_on_all_interfaces_and_is_probed_on_readyz_and_healthz(name, setting):
    container = _container(name)
    assert SETTINGS_ENV["BIND_HOST"] == "0.0.0.0"
    port = int(SETTINGS_ENV.get(setting, FIELDS[name][setting].default))
    [declared] = container["ports"]
    assert declared["containerPort"] == port
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": declared["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": declared["name"]}


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda d: d["metadata"]["name"])
def test_every_container_has_resource_requests_and_limits_and_mounts_only_declared_volumes(workload):
    pod = workload["spec"]["template"]["spec"]
    declared = {v["name"] for v in pod.get("volumes", [])} | {
        t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])
    }
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys() & container["resources"]["limits"].keys()
        assert {mount["name"] for mount in container.get("volumeMounts", [])} <= declared


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("api", "MODEL_DIR"),
        ("api", "REGIONS_IMPORT_DIR"),
        ("api", "EVALUATION_DIR"),
        ("jobs", "EVALUATION_DIR"),
        ("scoring", "MODEL_DIR"),
        ("ingest", "IMPORT_DIR"),
        ("scoring", "SCORING_DATA_DIR"),
        ("jobs", "MODEL_DIR"),
        ("jobs", "IMPORT_DIR"),
        ("jobs", "AUDIT_ARCHIVE_DIR"),
    ],
)
def test_the_folders_services_keep_files_in_are_mounted_volumes(name, variable):
    mounts = [mount["mountPath"] for mount in _container(name)["volumeMounts"]]
    assert any(SETTINGS_ENV[variable].startswith(f"{path}/") or SETTINGS_ENV[variable] == path for path in mounts)


def test_redis_keeps_an_append_only_file_on_a_persistent_volume():
    redis = _named("StatefulSet", "redis")
    [container] = redis["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    [data] = redis["spec"]["volumeClaimTemplates"]
    assert {"name": data["metadata"]["name"], "mountPath": args[args.index("--dir") + 1]} in container["volumeMounts"]
