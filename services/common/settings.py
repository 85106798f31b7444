"""Typed settings per service, read from the environment (see the README's configuration table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_partitions: int = Field(default=6, ge=1, description="partitions of household-keyed topics")
    log_level: str = "INFO"
    bind_host: str = "127.0.0.1"
    policy_dir: Path = REPO_ROOT / "policy"


class IngestSettings(_Base):
    """Ingest: HTTP and Kafka intake of upstream events."""

    ingest_port: int = 8001
    redis_url: str = "redis://127.0.0.1:6379/0"
    ingest_api_keys: str = Field(default="", description='"key1=/source/prefix1,key2=/source/prefix2"')
    pseudonym_key: SecretStr  # required: the HMAC key behind resident-ID pseudonyms
    max_batch_events: int = 1000
    max_body_bytes: int = 5 * 1024 * 1024
    dedup_ttl_days: int = 400

    def api_keys(self) -> dict[str, str]:
        """Return {key: allowed source prefix} parsed from INGEST_API_KEYS."""
        keys: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in self.ingest_api_keys.split(","))):
            key, sep, prefix = item.partition("=")
            if not sep or not key or not prefix.startswith("/"):
                raise ValueError(f"INGEST_API_KEYS: entry {item!r} must look like key=/source/prefix")
            keys[key] = prefix
        return keys


class ScoringSettings(_Base):
    """Scoring: the faust worker keeping household state and applying policy rules."""

    scoring_app_id: str = "shouwang-scoring"
    scoring_data_dir: Path = REPO_ROOT / "state" / "scoring"


class AlertsSettings(_Base):
    """Alerts: turns scores into one open alert per household in Redis."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    alerts_group_id: str = "shouwang-alerts"


class ApiSettings(_Base):
    """API and web console for staff."""

    api_port: int = 8000
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: SecretStr  # required: signs access tokens
    admin_password: SecretStr | None = None
    access_token_minutes: int = 15
