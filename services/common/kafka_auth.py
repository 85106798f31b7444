"""How a process authenticates to Kafka: its own SCRAM-SHA-512 principal (KAFKA_USERNAME, KAFKA_PASSWORD), over TLS
when KAFKA_SSL_CAFILE names the broker's CA; the same options for aiokafka, kafka-python and faust."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MECHANISM = "SCRAM-SHA-512"


class KafkaCredentials(BaseSettings):
    """The principal a process connects to Kafka as (every service has its own; the brokers refuse anonymous ones)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_username: str | None = Field(default=None, description="this process's Kafka principal (SCRAM user)")
    kafka_password: SecretStr | None = Field(default=None, description="its SCRAM-SHA-512 password")
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="the CA of the brokers' TLS listener (Strimzi's cluster CA); unset: no TLS"
    )

    def protocol(self) -> str:
        """Kafka's security.protocol for these credentials."""
        secure = self.kafka_ssl_cafile is not None
        if self.kafka_username:
            return "SASL_SSL" if secure else "SASL_PLAINTEXT"
        return "SSL" if secure else "PLAINTEXT"

    def ssl_context(self) -> ssl.SSLContext | None:
        """A TLS context trusting only the brokers' CA, or None without KAFKA_SSL_CAFILE."""
        if self.kafka_ssl_cafile is None:
            return None
        return ssl.create_default_context(cafile=str(self.kafka_ssl_cafile))


def client_options(credentials: KafkaCredentials | None = None) -> dict[str, Any]:
    """Keyword arguments of aiokafka and kafka-python clients for `credentials` (None: this process's environment)."""
    credentials = credentials if credentials is not None else KafkaCredentials()
    options: dict[str, Any] = {"security_protocol": credentials.protocol()}
    if credentials.kafka_username:
        password = credentials.kafka_password.get_secret_value() if credentials.kafka_password else ""
        options |= {
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": credentials.kafka_username,
            "sasl_plain_password": password,
        }
    if (context := credentials.ssl_context()) is not None:
        options["ssl_context"] = context
    return options


def faust_credentials(credentials: KafkaCredentials) -> Any:
    """faust's `broker_credentials` for these credentials (None: no SASL)."""
    import faust

    if not credentials.kafka_username:
        return None
    password = credentials.kafka_password.get_secret_value() if credentials.kafka_password else ""
    return faust.SASLCredentials(
        username=credentials.kafka_username,
        password=password,
        ssl_context=credentials.ssl_context(),
        mechanism=MECHANISM,
    )
