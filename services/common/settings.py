"""Typed settings per service, read from the environment (see docs/operators.md#configuration)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.grants import IngestGrant
from services.common.kafka_auth import KafkaCredentials

REPO_ROOT = Path(__file__).resolve().parents[2]
JWT_SECRET_MIN = 32  # characters: HS256 keys shorter than the hash are guessable offline from one token


class _Base(KafkaCredentials):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_partitions: int = Field(default=6, ge=1, description="partitions of household-keyed topics")
    kafka_replication_factor: int = Field(default=1, ge=1, description="brokers holding each topic the services make")
    kafka_min_insync_replicas: int = Field(
        default=1, ge=1, description="replicas that must have a write before the broker acknowledges it (acks=all)"
    )
    log_level: str = "INFO"
    bind_host: str = "127.0.0.1"
    policy_dir: Path = REPO_ROOT / "policy"
    jobs_heartbeat_seconds: int = Field(
        default=30, ge=1, description="a running training or import job that reports nothing for this long is retried"
    )
    gc_young_threshold: int = Field(
        default=10_000, ge=700, description="allocations between young-generation collections (Python's default: 700)"
    )


def with_password(url: str, password: str | None) -> str:
    """The Redis URL with `password` in it, unless it holds one already or there is none to add."""
    parts = urlsplit(url)
    if not password or parts.password is not None or "@" in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f":{quote(password, safe='')}@{parts.netloc}"))


class RedisSettings(BaseSettings):
    """Where Redis is, and the password every service connects with (REDIS_PASSWORD: `make run` generates one)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_password: SecretStr | None = Field(default=None, description="added to REDIS_URL when it holds none")

    @model_validator(mode="after")
    def _authenticated(self) -> RedisSettings:
        password = self.redis_password.get_secret_value() if self.redis_password else None
        self.redis_url = with_password(self.redis_url, password)
        return self


class _ImportFolders(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    import_dir: Path = REPO_ROOT / "state" / "imports"
    import_mappings_dir: Path = REPO_ROOT / "deploy" / "mappings"


class _EvaluationFolder(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    evaluation_dir: Path = Field(
        default=REPO_ROOT / "state" / "evaluations", description="uploaded evaluation files (api writes, jobs read)"
    )


class _RegionUploads(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    regions_import_dir: Path = Field(
        default=REPO_ROOT / "state" / "regions",
        description="uploaded region names files, kept until imported (api writes, jobs read)",
    )


class _ChangeLog(BaseSettings):
    """The alerts' change log, written by the alerts service and the API alike."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    alerts_changes_topic: str = "alerts.changes"
    alerts_change_wait: float = Field(default=10.0, gt=0, description="seconds a writer waits for its change")
    alerts_history_kept: int = Field(default=200, ge=2, description="newest history entries an alert keeps")


class _WebhookHosts(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    webhook_allowed_hosts: str = Field(default="", description="hosts webhooks may reach on non-public addresses")
    webhook_secret_key: SecretStr | None = Field(
        default=None, min_length=32, description="encrypts webhook secrets at rest (api, jobs); unset: kept in clear"
    )


class _WebhookTimeout(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    webhook_timeout: float = Field(default=10.0, gt=0, description="seconds per webhook request")


class ImportLimits(BaseSettings):
    """Limits on department files, read from the environment by ingest and by the import command line."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    import_xlsx_max_unpacked_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="an XLSX file unpacking to more is refused before it is read"
    )
    import_xlsx_max_shared_strings_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="an XLSX whose shared strings unpack to more is refused"
    )


class ProxySettings(BaseSettings):
    """The reverse proxies an HTTP service trusts to name the client (uvicorn's forwarded_allow_ips)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    forwarded_allow_ips: str = Field(
        default="127.0.0.1,::1",
        description="addresses or networks (10.0.0.0/8) whose X-Forwarded-For names the client: your reverse proxy's",
    )


class IngestAddress(BaseSettings):
    """Where ingest listens on its host (also the default target of its command line)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    ingest_port: int = 8001


class IngestSettings(_Base, RedisSettings, _ImportFolders, ImportLimits, IngestAddress, ProxySettings):
    """Ingest: HTTP and Kafka intake of upstream events."""

    ingest_api_keys: str = Field(
        default="", description='"key1=/source/prefix1,key2=/source/prefix2@5323|5301" (@: region prefixes)'
    )
    pseudonym_key: SecretStr  # required: the HMAC key behind resident-ID pseudonyms
    max_batch_events: int = 1000
    max_body_bytes: int = 5 * 1024 * 1024
    max_json_depth: int = Field(default=32, ge=4, description="JSON nested deeper than this is refused (400)")
    import_max_body_bytes: int = Field(default=256 * 1024 * 1024, ge=1, description="largest POST /imports upload")
    dedup_ttl_days: int = 400
    ingest_publish_seconds: float = Field(
        default=15.0, gt=0, description="longest wait for the broker's acknowledgement of a request's events (then 503)"
    )
    dedup_claim_seconds: int = Field(
        default=60, ge=5, description="how long an event being published holds its (source, id) against a twin"
    )
    event_time_earliest: date = Field(
        default=date(2015, 1, 1), description="no event time, date or period before this day is plausible"
    )
    event_months_ahead: int = Field(
        default=1, ge=0, description="a date or period may lie at most this many calendar months after now"
    )
    event_clock_skew_minutes: float = Field(
        default=15.0, ge=0, description="how far an event's `time` may lie after the ingest clock"
    )

    def grants(self) -> dict[str, IngestGrant]:
        """Return {key: what it may write} parsed from INGEST_API_KEYS (`key=/prefix` or `key=/prefix@53|5301`)."""
        grants: dict[str, IngestGrant] = {}
        entries = filter(None, (part.strip() for part in self.ingest_api_keys.split(",")))
        for number, item in enumerate(entries, start=1):  # messages name the entry, never the secret key
            key, sep, scope = item.partition("=")
            prefix, at, regions = scope.partition("@")
            codes = tuple(filter(None, (code.strip() for code in regions.split("|"))))
            if not sep or not key or not prefix.startswith("/"):
                raise ValueError(f"INGEST_API_KEYS: entry {number} must look like key=/source/prefix")
            if at and (not codes or not all(code.isascii() and code.isdigit() and len(code) <= 12 for code in codes)):
                raise ValueError(f"INGEST_API_KEYS: entry {number}: after @ come region prefixes (digits) joined by |")
            grants[key] = IngestGrant(prefix, codes if at else None)
        return grants

    def api_keys(self) -> dict[str, str]:
        """Return {key: allowed source prefix} parsed from INGEST_API_KEYS."""
        return {key: grant.source_prefix for key, grant in self.grants().items()}


class ModelRegistrySettings(BaseSettings):
    """Where the registered model versions are, for scoring, the API's model routes and the jobs alike."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    model_dir: Path = REPO_ROOT / "state" / "models"
    evaluation_upload_mb: int = Field(
        default=128, ge=1, description="largest events or labels file an evaluation takes"
    )


class ScoringSettings(_Base, ModelRegistrySettings):
    """Scoring: the faust worker keeping household state and applying policy rules."""

    scoring_app_id: str = "shouwang-scoring"
    scoring_data_dir: Path = REPO_ROOT / "state" / "scoring"
    scoring_batch_events: int = Field(default=2000, ge=1, description="most events scored together in one batch")
    scoring_commit_seconds: float = Field(
        default=2.8, gt=0, description="how often the worker commits the offsets of the events it has scored"
    )
    scoring_metrics_port: int = Field(
        default=0, ge=0, description="/metrics, /healthz and /readyz (its group's partitions held) port; 0: none"
    )
    scoring_session_seconds: float = Field(
        default=6.0,
        ge=6.0,
        description="a worker not heard from this long is dead and its partitions move (Kafka's least: 6 s)",
    )
    scoring_heartbeat_seconds: float = Field(
        default=1.0,
        gt=0,
        le=2.0,
        description="how often a worker tells the group it lives; a survivor learns of a rebalance at its next one",
    )
    scoring_fetch_wait_ms: int = Field(
        default=200,
        ge=10,
        le=1500,
        description="how long a fetch waits at the broker for new events; the offset lookups of a rebalance's "
        "table recovery queue behind it (faust's fixed 1,500 ms made each step of a failover wait that long)",
    )
    scoring_standby_replicas: int = Field(
        default=1,
        ge=0,
        description="warm copies of each table partition kept by other workers, taken over when a worker dies "
        "(faust's table_standby_replicas; only with 2 or more workers)",
    )
    scoring_bulk_recovery: bool = Field(
        default=True,
        description="a table partition the worker holds nothing of is read whole in large fetches before faust's "
        "recovery (which then reads only what was written since); false: faust's record-by-record recovery alone",
    )


class AlertsSettings(_Base, RedisSettings, _ChangeLog, _WebhookTimeout):
    """Alerts: turns scores into one open alert per household in Redis."""

    alerts_group_id: str = "shouwang-alerts"
    scores_topic: str = Field(default="scores", description="where alerts reads scores (tests use their own)")
    alerts_deadline_interval: float = Field(default=60.0, gt=0, description="seconds between deadline checks")
    alerts_score_ids_kept: int = Field(
        default=5000, ge=10, description="newest score ids a household keeps to recognise a redelivered score"
    )
    alerts_metrics_port: int = Field(
        default=8002, ge=0, le=65535, description="/metrics and probes (readyz: its groups' partitions held); 0: none"
    )
    alerts_outbox_retention_hours: float = Field(
        default=24.0, gt=0, description="routed changes the outbox keeps for the live stream's Last-Event-ID resume"
    )
    alerts_outbox_claim_idle_seconds: float = Field(
        default=15.0, gt=0, description="an outbox entry read but not acknowledged this long is another router's orphan"
    )
    webhook_backoff: float = Field(default=5.0, gt=0, description="seconds before the first webhook retry")
    webhook_backoff_max: float = Field(default=3600.0, gt=0, description="longest wait between webhook retries")
    webhook_max_attempts: int = Field(default=20, ge=1)
    webhook_keep_hours: int = Field(default=168, ge=1, description="a delivery's record, against routing it twice")


class PasswordSettings(BaseSettings):
    """The password policy (the API, and the account command on the server)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    password_min_length: int = Field(default=12, ge=8, le=128, description="shortest password an account may get")
    password_min_score: int = Field(
        default=3, ge=0, le=4, description="least zxcvbn strength (0-4) of a new password: 3 is 10^8 guesses"
    )


class ApiSettings(
    _Base,
    RedisSettings,
    _ChangeLog,
    _WebhookHosts,
    PasswordSettings,
    _EvaluationFolder,
    _RegionUploads,
    ProxySettings,
    ModelRegistrySettings,
):
    """API and web console for staff."""

    api_port: int = 8000
    jwt_secret: SecretStr  # required: signs access tokens (at least 32 characters)
    admin_password: SecretStr | None = None
    admin_login_hint: bool = Field(
        default=False, description="print whether ADMIN_PASSWORD logs in at start-up (`make run` only: it is a secret)"
    )
    access_token_minutes: int = 15
    ledger_concurrency: int = Field(default=4, ge=1, description="ledger exports at once per API process (then 429)")
    ledger_rows_per_second: int = Field(
        default=1000, ge=100, description="ledger lines an API process writes per second, all exports together"
    )
    stream_queue: int = Field(default=1000, ge=10, description="changes a slow live-stream client may fall behind")
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
        default=16384, ge=1, description="largest body on the unauthenticated /auth/* routes (else 413)"
    )
    regions_upload_mb: int = Field(default=64, ge=1, description="largest names file POST /regions/import takes")
    regions_cache_codes: int = Field(
        default=100_000, ge=1, description="imported region names an API process keeps in memory"
    )
    redis_memory_check_seconds: float = Field(default=15.0, gt=0, description="how often Redis memory is measured")
    redis_memory_warn_ratio: float = Field(
        default=0.8, gt=0, le=1, description="share of Redis maxmemory above which the API logs a warning"
    )
    evaluation_wait_seconds: float = Field(
        default=60.0, ge=0, description="how long POST /models/{version}/evaluations waits for its job (then 202)"
    )
    evaluations_per_analyst: int = Field(
        default=2, ge=1, description="evaluations one analyst may have queued or running at once (then 429)"
    )
    shadow_report_scores: int = Field(
        default=50_000, ge=100, description="newest shadow scores GET /models/shadow/report compares"
    )
    audit_scan_entries: int = Field(
        default=20_000, ge=500, description="audit entries one GET /audit reads at most (then `next` goes on)"
    )
    monitoring_psi_alarm: float = Field(
        default=0.25, gt=0, description="drift alarm: PSI of the score or of a model feature above this"
    )
    monitoring_min_verdicts: int = Field(
        default=20, ge=1, description="verdicts a probability band needs before its calibration can alarm"
    )
    monitoring_min_households: int = Field(
        default=200, ge=1, description="households a county-month needs before its drift can alarm (PSI noise)"
    )
    monitoring_gauges_seconds: float = Field(default=60.0, gt=0, description="how old the model gauges may get")

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < JWT_SECRET_MIN:
            raise ValueError(f"JWT_SECRET must be at least {JWT_SECRET_MIN} characters (openssl rand -hex 32)")
        return secret


class JobsSettings(
    _Base, RedisSettings, _ImportFolders, _WebhookHosts, _WebhookTimeout, _EvaluationFolder, _RegionUploads
):
    """Jobs: webhook deliveries, imports, trainings, evaluations, the audit archive (`python -m services.jobs`)."""

    webhook_concurrency: int = Field(default=20, ge=1, description="deliveries in flight per jobs process")
    training_concurrency: int = Field(default=1, ge=1, description="trainings at once per jobs process")
    jobs_metrics_port: int = Field(default=0, ge=0, le=65535, description="Prometheus /metrics port; 0: none")
    import_concurrency: int = Field(default=2, ge=1, description="imports at once per jobs process")
    evaluation_concurrency: int = Field(default=1, ge=1, description="evaluations at once per jobs process")
    jobs_sweep_seconds: int = Field(default=10, ge=1, description="how often jobs of a dead worker are looked for")
    ingest_url: str = Field(default="http://127.0.0.1:8001", description="where import jobs send their rows")
    jobs_ingest_key: SecretStr | None = Field(default=None, description="the ingest key import jobs send rows with")
    import_rejects_kept: int = Field(default=100_000, ge=1, description="lines an import's rejects report keeps")
    regions_rejects_kept: int = Field(default=1000, ge=1, description="refused rows a names import lists")
    regions_import_max_rows: int = Field(
        default=1_000_000, ge=1, description="rows a names file may hold (the whole country has ~700,000 codes)"
    )
    audit_retention_days: float = Field(default=730.0, gt=0, description="audit entries older are archived, trimmed")
    audit_archive_dir: Path = Field(default=REPO_ROOT / "state" / "audit", description="where they are archived")


class DemoSettings(BaseSettings):
    """The demo county `make run` streams (`python -m services.demo.county`)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_prefix="DEMO_")

    ingest_url: str = Field(description="where the demo sends its events (ingest)")
    ingest_key: str = Field(default="", description="the key it streams under; empty: the first that may")
    households: int = Field(default=300, ge=1, description="households of the demo county")
    train_households: int = Field(default=1200, ge=1, description="households simulated to train the first model")
    seed: int = 7
    model_wait: float = Field(default=3.0, ge=0, description="seconds for scoring workers to load the model")
