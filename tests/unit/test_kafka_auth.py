"""Client options from a process's Kafka credentials: SCRAM-SHA-512 with a username, TLS with the brokers' CA."""

from __future__ import annotations

import ssl

import certifi
from pydantic import SecretStr

from services.common.kafka_auth import KafkaCredentials, client_options, faust_credentials
from services.common.settings import AlertsSettings


def test_a_username_and_password_make_a_scram_sha_512_client_over_sasl_plaintext():
    credentials = KafkaCredentials(kafka_username="ingest", kafka_password=SecretStr("s3cret"))
    assert client_options(credentials) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ingest",
        "sasl_plain_password": "s3cret",
    }


def test_the_brokers_ca_makes_the_client_speak_tls_and_trust_that_ca():
    credentials = KafkaCredentials(
        kafka_username="scoring", kafka_password=SecretStr("s3cret"), kafka_ssl_cafile=certifi.where()
    )
    options = client_options(credentials)
    assert options["security_protocol"] == "SASL_SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext) and options["ssl_context"].check_hostname


def test_without_a_username_a_client_offers_no_credentials(monkeypatch):
    monkeypatch.delenv("KAFKA_USERNAME", raising=False)  # the tests' own process runs as the admin (tests/infra.py)
    monkeypatch.delenv("KAFKA_PASSWORD", raising=False)
    assert client_options(KafkaCredentials()) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(KafkaCredentials()) is None


def test_faust_gets_the_same_principal_with_scram_sha_512():
    made = faust_credentials(KafkaCredentials(kafka_username="scoring", kafka_password=SecretStr("s3cret")))
    assert (made.username, made.password, made.mechanism.value) == ("scoring", "s3cret", "SCRAM-SHA-512")


def test_every_services_settings_read_its_kafka_principal_from_the_environment(monkeypatch):
    monkeypatch.setenv("KAFKA_USERNAME", "alerts")
    monkeypatch.setenv("KAFKA_PASSWORD", "from-the-environment")
    settings = AlertsSettings()
    assert client_options(settings)["sasl_plain_username"] == "alerts"
    assert "from-the-environment" not in repr(settings)  # a SecretStr: never in a log line
