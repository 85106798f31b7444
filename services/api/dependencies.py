"""What routes depend on, as typed `Annotated` providers: the API's services and settings, built once by
`create_app(settings)` into `ApiServices`, and the signed-in caller (`CurrentUser`). No other module reads `app.state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.security import OAuth2PasswordBearer
from redis.asyncio import Redis

from services.alerts.changes import ChangeLog
from services.alerts.store import AlertStore
from services.alerts.subscriptions import SubscriptionStore
from services.api.audit import AuditTrail
from services.api.auth import RefreshTokens, TokenIssuer
from services.api.change_feed import ChangeFeed
from services.api.export_budget import ExportBudget
from services.api.passwords import PasswordPolicy
from services.api.throttle import LoginThrottle
from services.api.users import User, UserStore
from services.common.job_records import Jobs
from services.common.policy import PolicyBook
from services.common.settings import ApiSettings
from services.regions.directory import RegionDirectory
from services.regions.importer import RegionImports

oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token")
_optional_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
_BEARER = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class ApiServices:
    """Everything the API's routes use, built once per app from its settings."""

    settings: ApiSettings
    redis: Redis
    users: UserStore
    tokens: TokenIssuer
    refresh: RefreshTokens
    throttle: LoginThrottle
    password_policy: PasswordPolicy
    alerts: AlertStore
    audit: AuditTrail
    changes: ChangeLog
    policies: PolicyBook
    subscriptions: SubscriptionStore
    webhook_hosts: frozenset[str]
    jobs: Jobs
    ledger_budget: ExportBudget
    feed: ChangeFeed
    regions: RegionDirectory
    names_imports: RegionImports


def provide(app: FastAPI, services: ApiServices) -> None:
    """Make `services` what the app's routes get from the providers below."""
    app.state.services = services


def services_of(app: FastAPI) -> ApiServices:
    """The services of an app built by `create_app` (for its start-up and for tools driving it in-process)."""
    services: ApiServices = app.state.services
    return services


# Providers are coroutines: FastAPI would run plain functions in its thread pool.
async def _services(request: Request) -> ApiServices:
    return services_of(request.app)


async def _settings(request: Request) -> ApiSettings:
    return services_of(request.app).settings


async def _redis(request: Request) -> Redis:
    return services_of(request.app).redis


async def _users(request: Request) -> UserStore:
    return services_of(request.app).users


async def _tokens(request: Request) -> TokenIssuer:
    return services_of(request.app).tokens


async def _alerts(request: Request) -> AlertStore:
    return services_of(request.app).alerts


async def _audit(request: Request) -> AuditTrail:
    return services_of(request.app).audit


async def _regions(request: Request) -> RegionDirectory:
    return services_of(request.app).regions


async def _subscriptions(request: Request) -> SubscriptionStore:
    return services_of(request.app).subscriptions


async def _names_imports(request: Request) -> RegionImports:
    return services_of(request.app).names_imports


async def _refresh(request: Request) -> RefreshTokens:
    return services_of(request.app).refresh


async def _throttle(request: Request) -> LoginThrottle:
    return services_of(request.app).throttle


async def _password_policy(request: Request) -> PasswordPolicy:
    return services_of(request.app).password_policy


async def _changes(request: Request) -> ChangeLog:
    return services_of(request.app).changes


async def _policies(request: Request) -> PolicyBook:
    return services_of(request.app).policies


async def _jobs(request: Request) -> Jobs:
    return services_of(request.app).jobs


async def _ledger_budget(request: Request) -> ExportBudget:
    return services_of(request.app).ledger_budget


async def _feed(request: Request) -> ChangeFeed:
    return services_of(request.app).feed


Services = Annotated[ApiServices, Depends(_services)]
Settings = Annotated[ApiSettings, Depends(_settings)]
RedisClient = Annotated[Redis, Depends(_redis)]
Users = Annotated[UserStore, Depends(_users)]
Tokens = Annotated[TokenIssuer, Depends(_tokens)]
Alerts = Annotated[AlertStore, Depends(_alerts)]
Audit = Annotated[AuditTrail, Depends(_audit)]
Regions = Annotated[RegionDirectory, Depends(_regions)]
Subscriptions = Annotated[SubscriptionStore, Depends(_subscriptions)]
NamesImports = Annotated[RegionImports, Depends(_names_imports)]
Refresh = Annotated[RefreshTokens, Depends(_refresh)]
Throttle = Annotated[LoginThrottle, Depends(_throttle)]
PasswordRules = Annotated[PasswordPolicy, Depends(_password_policy)]
Changes = Annotated[ChangeLog, Depends(_changes)]
Policies = Annotated[PolicyBook, Depends(_policies)]
BackgroundJobs = Annotated[Jobs, Depends(_jobs)]
LedgerBudget = Annotated[ExportBudget, Depends(_ledger_budget)]
Feed = Annotated[ChangeFeed, Depends(_feed)]


async def current_user(token: Annotated[str, Depends(oauth2)], tokens: Tokens, users: Users) -> User:
    """The caller, from the bearer token; disabled or deleted users and superseded tokens are refused."""
    username, epoch = tokens.claims(token)
    user, current = await users.session(username)
    if user is None or user.disabled:
        raise HTTPException(401, "user unknown or disabled", headers=_BEARER)
    if epoch != current:
        raise HTTPException(401, "token superseded (password reset or account change): log in again", headers=_BEARER)
    return user


async def live_token(
    token: Annotated[str | None, Depends(_optional_bearer)],
    access_token: Annotated[str | None, Query(description="for EventSource, which cannot send headers")] = None,
) -> str:
    """The caller's token, from the bearer header or the `access_token` query parameter (for a live stream)."""
    if not (token or access_token):
        raise HTTPException(401, "not authenticated", headers=_BEARER)
    return token or access_token or ""


async def live_user(token: Annotated[str, Depends(live_token)], tokens: Tokens, users: Users) -> User:
    """The caller of a live stream (bearer header or `access_token`)."""
    return await current_user(token, tokens, users)


CurrentUser = Annotated[User, Depends(current_user)]
LiveToken = Annotated[str, Depends(live_token)]
