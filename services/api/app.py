"""The staff API and web console."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.alerts.changes import ChangeLog
from services.alerts.store import AlertStore
from services.alerts.subscriptions import SecretBox, SubscriptionStore
from services.alerts.targets import allowed_hosts
from services.analytics.training_jobs import TrainingJobs
from services.api import (
    account_rights,
    accounts,
    alert_changes,
    audit_log,
    bootstrap,
    console,
    evaluations,
    hardening,
    hooks,
    ledger,
    model_monitoring,
    model_registry,
    model_reports,
    regions,
    stats,
    stream,
)
from services.api.audit import AuditTrail
from services.api.auth import TokenIssuer
from services.api.passwords import PasswordPolicy
from services.api.redis_memory import watch_redis_memory
from services.api.request_metrics import RequestSeconds
from services.api.users import ADMIN_USERNAME, PASSWORD_MAX, PasswordWork, UserStore
from services.api.views import router
from services.common import topics
from services.common.logs import configure_logging
from services.common.policy import PolicyBook
from services.common.probes import redis_reachable
from services.common.redis_connections import redis_client
from services.common.settings import ApiSettings, ScoringSettings
from services.common.web import add_operational_routes
from services.jobs import queues
from services.jobs.evaluations import EvaluationJobs
from services.jobs.queues import job_queue


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API app; the first admin is created at start-up if missing."""
    settings = settings or ApiSettings()  # type: ignore[call-arg]
    policy = PasswordPolicy(settings.password_min_length, settings.password_min_score)
    if settings.admin_password:
        admin_password = settings.admin_password.get_secret_value()
        if len(admin_password) > PASSWORD_MAX:
            raise ValueError(f"ADMIN_PASSWORD is longer than {PASSWORD_MAX} characters: no login could send it")
        if (why := policy.refusal(admin_password, ADMIN_USERNAME)) is not None:
            raise ValueError(f"ADMIN_PASSWORD: {why}")
    redis = redis_client(settings.redis_url, decode_responses=True)
    changes = ChangeLog(
        settings.kafka_bootstrap_servers,
        settings.alerts_changes_topic,
        redis,
        settings.alerts_change_wait,
        settings.alerts_history_kept,
        settings,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        await bootstrap.apply_admin_password(app, settings)
        used = [settings.alerts_changes_topic, topics.MODEL_ACTIVATIONS]
        await asyncio.to_thread(topics.await_topics, settings.kafka_bootstrap_servers, used, settings)
        await changes.start()
        reader = asyncio.create_task(app.state.feed.run())
        memory = asyncio.create_task(watch_redis_memory(redis, settings))
        await regions.resume_imports(app)
        yield
        memory.cancel()
        for task in list(app.state.region_tasks):  # an import stopped here resumes at the next start
            task.cancel()
        await asyncio.gather(*app.state.region_tasks, return_exceptions=True)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await app.state.feed.aclose()
        await changes.stop()
        await redis.aclose()

    app = FastAPI(title="Shouwang API", version="1", lifespan=lifespan, max_body_size=settings.api_max_body_bytes)
    hardening.install(app)
    app.add_middleware(RequestSeconds)
    app.state.users = UserStore(redis, PasswordWork(settings.password_hash_threads, settings.password_hash_queue))
    app.state.password_policy = policy
    app.state.ledger_budget = ledger.ExportBudget(settings.ledger_concurrency, settings.ledger_rows_per_second)
    app.state.feed = stream.ChangeFeed(redis, settings.redis_url, app.state.users, settings.stream_queue)
    app.state.alerts = AlertStore(redis)
    app.state.audit = AuditTrail(redis)
    app.state.tokens = TokenIssuer(settings.jwt_secret.get_secret_value(), settings.access_token_minutes)
    app.state.redis = redis
    app.state.settings = settings
    app.state.changes = changes
    app.state.policies = PolicyBook.load(settings.policy_dir)
    webhook_key = settings.webhook_secret_key.get_secret_value() if settings.webhook_secret_key else None
    app.state.subscriptions = SubscriptionStore(redis, SecretBox(webhook_key))
    app.state.webhook_allowed_hosts = allowed_hosts(settings.webhook_allowed_hosts)
    app.state.trainings = TrainingJobs(
        redis, job_queue(settings.redis_url, queues.TRAINING), settings.jobs_heartbeat_seconds
    )
    app.state.evaluations = EvaluationJobs(
        redis, job_queue(settings.redis_url, queues.EVALUATIONS), settings.jobs_heartbeat_seconds,
        settings.evaluation_dir,
    )  # fmt: skip
    app.state.evaluations_per_analyst = settings.evaluations_per_analyst
    app.state.shadow_report_scores = settings.shadow_report_scores
    app.state.audit_scan_entries = settings.audit_scan_entries
    app.state.evaluation_wait_seconds = settings.evaluation_wait_seconds
    for routes in (
        stream.router,
        alert_changes.router,
        hooks.router,
        audit_log.router,
        model_monitoring.router,
        model_registry.router,
        model_reports.router,  # after /models/shadow/report
    ):  # /alerts/stream before /alerts/{id}
        app.include_router(routes)
    app.include_router(evaluations.router, max_body_size=ScoringSettings().evaluation_upload_mb << 20)
    app.include_router(router)
    accounts.install(app, settings)
    app.include_router(account_rights.router)
    regions.install(app, settings)
    app.include_router(stats.router)
    app.include_router(ledger.router)
    console.install(app)

    async def readiness() -> dict[str, bool]:
        return {"redis": await redis_reachable(redis)}

    add_operational_routes(app, readiness, model_monitoring.GaugeRefresh(redis, settings))
    return app
