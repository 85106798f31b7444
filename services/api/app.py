"""The staff API and web console."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from redis.asyncio import Redis

from services.alerts.changes import ChangeLog
from services.alerts.store import AlertStore
from services.alerts.subscriptions import SecretBox, SubscriptionStore
from services.alerts.targets import allowed_hosts
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
    region_directory,
    stats,
    stream,
)
from services.api.audit import AuditTrail
from services.api.auth import RefreshTokens, TokenIssuer
from services.api.change_feed import ChangeFeed
from services.api.dependencies import ApiServices, provide
from services.api.export_budget import ExportBudget
from services.api.passwords import PasswordPolicy
from services.api.redis_memory import watch_redis_memory
from services.api.request_metrics import RequestSeconds
from services.api.throttle import LoginThrottle
from services.api.users import ADMIN_USERNAME, PASSWORD_MAX, PasswordWork, UserStore
from services.api.views import router
from services.common import topics
from services.common.job_records import Jobs
from services.common.logs import configure_logging
from services.common.policy import PolicyBook
from services.common.probes import redis_reachable
from services.common.redis_connections import redis_client
from services.common.settings import ApiSettings
from services.common.web import add_operational_routes
from services.regions.directory import RegionDirectory
from services.regions.importer import RegionImports


def build_services(settings: ApiSettings, redis: Redis) -> ApiServices:
    """Everything the routes use, from the settings, over one Redis pool."""
    users = UserStore(redis, PasswordWork(settings.password_hash_threads, settings.password_hash_queue))
    changes = ChangeLog(
        settings.kafka_bootstrap_servers,
        settings.alerts_changes_topic,
        redis,
        settings.alerts_change_wait,
        settings.alerts_history_kept,
        settings,
    )
    webhook_key = settings.webhook_secret_key.get_secret_value() if settings.webhook_secret_key else None
    jobs = Jobs(redis, settings.redis_url, settings.jobs_heartbeat_seconds)
    return ApiServices(
        settings=settings,
        redis=redis,
        users=users,
        tokens=TokenIssuer(settings.jwt_secret.get_secret_value(), settings.access_token_minutes),
        refresh=RefreshTokens(redis, settings.refresh_token_hours),
        throttle=LoginThrottle(
            redis,
            settings.login_max_failures,
            settings.login_max_failures_per_client,
            settings.login_failure_window_minutes * 60,
            settings.login_lockout_minutes * 60,
        ),
        password_policy=PasswordPolicy(settings.password_min_length, settings.password_min_score),
        alerts=AlertStore(redis),
        audit=AuditTrail(redis),
        changes=changes,
        policies=PolicyBook.load(settings.policy_dir),
        subscriptions=SubscriptionStore(redis, SecretBox(webhook_key)),
        webhook_hosts=allowed_hosts(settings.webhook_allowed_hosts),
        jobs=jobs,
        ledger_budget=ExportBudget(settings.ledger_concurrency, settings.ledger_rows_per_second),
        feed=ChangeFeed(redis, settings.redis_url, users, settings.stream_queue),
        regions=RegionDirectory(redis, settings.regions_cache_codes),
        names_imports=RegionImports(jobs.store),
    )


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API app from its settings; the first admin is created at start-up if missing."""
    settings = settings or ApiSettings()  # type: ignore[call-arg]
    if settings.admin_password:
        admin_password = settings.admin_password.get_secret_value()
        if len(admin_password) > PASSWORD_MAX:
            raise ValueError(f"ADMIN_PASSWORD is longer than {PASSWORD_MAX} characters: no login could send it")
        policy = PasswordPolicy(settings.password_min_length, settings.password_min_score)
        if (why := policy.refusal(admin_password, ADMIN_USERNAME)) is not None:
            raise ValueError(f"ADMIN_PASSWORD: {why}")
    redis = redis_client(settings.redis_url, decode_responses=True)
    services = build_services(settings, redis)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        await bootstrap.apply_admin_password(services)
        used = [settings.alerts_changes_topic, topics.MODEL_ACTIVATIONS]
        await asyncio.to_thread(topics.await_topics, settings.kafka_bootstrap_servers, used, settings)
        await services.changes.start()
        reader = asyncio.create_task(services.feed.run())
        memory = asyncio.create_task(watch_redis_memory(redis, settings))
        yield
        memory.cancel()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await services.feed.aclose()
        await services.changes.stop()
        await redis.aclose()

    app = FastAPI(title="Shouwang API", version="1", lifespan=lifespan, max_body_size=settings.api_max_body_bytes)
    provide(app, services)
    hardening.install(app)
    app.add_middleware(RequestSeconds)
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
    app.include_router(evaluations.router, max_body_size=settings.evaluation_upload_mb << 20)
    app.include_router(router)
    accounts.install(app, settings)
    app.include_router(account_rights.router)
    region_directory.install(app, settings)
    app.include_router(stats.router)
    app.include_router(ledger.router)
    console.install(app)

    async def readiness() -> dict[str, bool]:
        return {"redis": await redis_reachable(redis)}

    add_operational_routes(app, readiness, model_monitoring.GaugeRefresh(redis, settings))
    return app
