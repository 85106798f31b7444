"""Typed settings per service, read from the environment (see the README's configuration table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import BlockingConnectionPool, Redis

REPO_ROOT = Path(__file__).resolve().parents[2]


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_partitions: int = Field(default=6, ge=1, description="partitions of household-keyed topics")
    log_level: str = "INFO"
    bind_host: str = "127.0.0.1"
    policy_dir: Path = REPO_ROOT / "policy"
    jobs_heartbeat_seconds: int = Field(
        default=30, ge=1, description="a running training or import job that reports nothing for this long is retried"
    )


class IngestSettings(_Base):
    """Ingest: HTTP and Kafka intake of upstream events."""

    ingest_port: int = 8001
    redis_url: str = "redis://127.0.0.1:6379/0"
    ingest_api_keys: str = Field(default="", description='"key1=/source/prefix1,key2=/source/prefix2"')
    pseudonym_key: SecretStr  # required: the HMAC key behind resident-ID pseudonyms
    max_batch_events: int = 1000
    max_body_bytes: int = 5 * 1024 * 1024
    dedup_ttl_days: int = 400
    import_dir: Path = REPO_ROOT / "state" / "imports"
    import_mappings_dir: Path = REPO_ROOT / "deploy" / "mappings"

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
    model_dir: Path = REPO_ROOT / "state" / "models"


class AlertsSettings(_Base):
    """Alerts: turns scores into one open alert per household in Redis."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    alerts_group_id: str = "shouwang-alerts"
    alerts_changes_topic: str = "alerts.changes"
    scores_topic: str = Field(default="scores", description="where alerts reads scores (tests use their own)")
    alerts_change_wait: float = Field(default=10.0, gt=0, description="seconds a writer waits for its change")
    alerts_deadline_interval: float = Field(default=60.0, gt=0, description="seconds between deadline checks")
    alerts_history_kept: int = Field(default=200, ge=2, description="newest history entries an alert keeps")
    alerts_score_ids_kept: int = Field(
        default=5000, ge=10, description="newest score ids a household keeps to recognise a redelivered score"
    )
    alerts_metrics_port: int = Field(default=8002, ge=0, le=65535, description="Prometheus /metrics; 0: none")
    alerts_outbox_retention_hours: float = Field(
        default=24.0, gt=0, description="routed changes the outbox keeps for the live stream's Last-Event-ID resume"
    )
    webhook_backoff: float = Field(default=5.0, gt=0, description="seconds before the first webhook retry")
    webhook_backoff_max: float = Field(default=3600.0, gt=0, description="longest wait between webhook retries")
    webhook_max_attempts: int = Field(default=20, ge=1)
    webhook_timeout: float = Field(default=10.0, gt=0)
    webhook_keep_hours: int = Field(default=168, ge=1, description="a delivery's record, against routing it twice")


class ApiSettings(_Base):
    """API and web console for staff."""

    api_port: int = 8000
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: SecretStr  # required: signs access tokens
    admin_password: SecretStr | None = None
    access_token_minutes: int = 15
    alerts_changes_topic: str = "alerts.changes"
    alerts_change_wait: float = Field(default=10.0, gt=0, description="seconds a writer waits for its change")
    alerts_history_kept: int = Field(default=200, ge=2, description="newest history entries an alert keeps")
    webhook_allowed_hosts: str = Field(default="", description="hosts webhooks may reach on non-public addresses")
    ledger_concurrency: int = Field(default=4, ge=1, description="ledger exports at once per API process (then 429)")
    stream_queue: int = Field(default=1000, ge=10, description="changes a slow live-stream client may fall behind")
    refresh_token_hours: float = Field(default=12.0, gt=0, description="lifetime of a refresh token")
    login_max_failures: int = Field(default=5, ge=1, description="failed logins within the window that lock")
    login_failure_window_minutes: float = Field(default=15.0, gt=0, description="window counting failed logins")
    login_lockout_minutes: float = Field(default=15.0, gt=0, description="how long a locked account stays locked")


class JobsSettings(_Base):
    """Jobs: webhook deliveries, training and import jobs, the audit archive (`python -m services.jobs`)."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    webhook_timeout: float = Field(default=10.0, gt=0, description="seconds per webhook request")
    webhook_allowed_hosts: str = Field(default="", description="hosts webhooks may reach on non-public addresses")
    webhook_concurrency: int = Field(default=20, ge=1, description="deliveries in flight per jobs process")
    training_concurrency: int = Field(default=1, ge=1, description="trainings at once per jobs process")
    import_concurrency: int = Field(default=2, ge=1, description="imports at once per jobs process")
    jobs_sweep_seconds: int = Field(default=10, ge=1, description="how often jobs of a dead worker are looked for")
    ingest_url: str = Field(default="http://127.0.0.1:8001", description="where import jobs send their rows")
    jobs_ingest_key: SecretStr | None = Field(default=None, description="the ingest key import jobs send rows with")
    import_dir: Path = REPO_ROOT / "state" / "imports"
    import_mappings_dir: Path = REPO_ROOT / "deploy" / "mappings"
    import_rejects_kept: int = Field(default=100_000, ge=1, description="lines an import's rejects report keeps")
    audit_retention_days: float = Field(default=730.0, gt=0, description="audit entries older are archived, trimmed")
    audit_archive_dir: Path = Field(default=REPO_ROOT / "state" / "audit", description="where they are archived")


def redis_client(url: str, *, decode_responses: bool = False, max_connections: int = 64) -> Redis:
    """A Redis client whose pool waits for a free connection instead of opening hundreds under load."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=30, decode_responses=decode_responses
    )
    return Redis(connection_pool=pool)
