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
    scoring_batch_events: int = Field(default=2000, ge=1, description="most events scored together in one batch")
    scoring_batch_seconds: float = Field(default=0.1, gt=0, description="longest wait to fill a batch")
    scoring_metrics_port: int = Field(default=0, ge=0, description="Prometheus /metrics port (0: not served)")
    evaluation_upload_mb: int = Field(
        default=512, ge=1, description="largest events or labels file an evaluation takes"
    )


class AlertsSettings(_Base):
    """Alerts: turns scores into one open alert per household in Redis."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    alerts_group_id: str = "shouwang-alerts"
    alerts_changes_topic: str = "alerts.changes"
    scores_topic: str = Field(default="scores", description="where alerts reads scores (tests use their own)")
    alerts_change_wait: float = Field(default=10.0, gt=0, description="seconds a writer waits for its change")
    alerts_deadline_interval: float = Field(default=60.0, gt=0, description="seconds between deadline checks")
    webhook_backoff: float = Field(default=5.0, gt=0, description="seconds before the first webhook retry")
    webhook_backoff_max: float = Field(default=3600.0, gt=0, description="longest wait between webhook retries")
    webhook_max_attempts: int = Field(default=20, ge=1)
    webhook_timeout: float = Field(default=10.0, gt=0)


class ApiSettings(_Base):
    """API and web console for staff."""

    api_port: int = 8000
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: SecretStr  # required: signs access tokens
    admin_password: SecretStr | None = None
    access_token_minutes: int = 15
    alerts_changes_topic: str = "alerts.changes"
    alerts_change_wait: float = Field(default=10.0, gt=0, description="seconds a writer waits for its change")
    refresh_token_hours: float = Field(default=12.0, gt=0, description="lifetime of a refresh token")
    login_max_failures: int = Field(default=5, ge=1, description="failed logins within the window that lock")
    login_failure_window_minutes: float = Field(default=15.0, gt=0, description="window counting failed logins")
    login_lockout_minutes: float = Field(default=15.0, gt=0, description="how long a locked account stays locked")
    login_max_failures_per_client: int = Field(
        default=50, ge=1, description="failed logins from one client address within the window before it must wait"
    )
    password_hash_threads: int = Field(default=2, ge=1, description="threads that run argon2 (logins, new passwords)")
    password_hash_queue: int = Field(
        default=8, ge=0, description="password checks that may wait for a thread; more at once get 503"
    )
    api_max_body_bytes: int = Field(default=65536, ge=1, description="largest request body on the API (else 413)")
    api_auth_max_body_bytes: int = Field(
        default=4096, ge=1, description="largest body on the unauthenticated /auth/* routes (else 413)"
    )
    regions_import_dir: Path = Field(
        default=REPO_ROOT / "state" / "regions", description="uploaded region names files, kept until imported"
    )
    regions_upload_mb: int = Field(default=64, ge=1, description="largest names file POST /regions/import takes")
    regions_cache_codes: int = Field(
        default=100_000, ge=1, description="imported region names an API process keeps in memory"
    )


def redis_client(url: str, *, decode_responses: bool = False, max_connections: int = 64) -> Redis:
    """A Redis client whose pool waits for a free connection instead of opening hundreds under load."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=30, decode_responses=decode_responses
    )
    return Redis(connection_pool=pool)
