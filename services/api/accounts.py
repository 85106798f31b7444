"""Routes for logging in (access and refresh tokens, throttling) and for managing staff accounts (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, FastAPI, Form, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.audit import AuditTrail
from services.api.auth import CurrentUser, RefreshTokens
from services.api.passwords import PasswordPolicy
from services.api.permissions import Admin, Caller
from services.api.throttle import LoginThrottle
from services.api.users import (
    PASSWORD_MAX,
    USERNAME_MAX,
    USERNAME_PATTERN,
    NewUser,
    Password,
    PasswordsBusy,
    User,
    UserExists,
    UserStore,
)
from services.common.errors import body, errors
from services.common.settings import ApiSettings

auth_router = APIRouter(tags=["auth"])  # unauthenticated: its own, smaller body limit
router = APIRouter()
UsernamePath = Annotated[str, Path(pattern=USERNAME_PATTERN, examples=["li.township"])]
_BEARER = {"WWW-Authenticate": "Bearer"}


class Token(BaseModel):
    """OAuth2 bearer token response, with a single-use refresh token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token lives", examples=[900])
    refresh_token: str = Field(description="single use: POST it to /auth/refresh for a new pair")


class RefreshRequest(BaseModel):
    """Body of `POST /auth/refresh` and `POST /auth/logout`."""

    refresh_token: str = Field(min_length=1, max_length=1000, examples=["kX1…"])


class PasswordReset(BaseModel):
    """Body of `POST /users/{username}/reset-password`."""

    password: Password


class Credentials(BaseModel):
    """The OAuth2 password form of `POST /auth/token`, bounded before anything is hashed or counted."""

    username: str = Field(min_length=1, max_length=USERNAME_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Add the account routes, the refresh-token store and the login throttle to the app."""
    redis = app.state.redis
    app.state.refresh = RefreshTokens(redis, settings.refresh_token_hours)
    app.state.throttle = LoginThrottle(
        redis,
        settings.login_max_failures,
        settings.login_max_failures_per_client,
        settings.login_failure_window_minutes * 60,
        settings.login_lockout_minutes * 60,
    )
    app.include_router(auth_router, max_body_size=settings.api_auth_max_body_bytes)
    app.include_router(router)
    app.add_exception_handler(PasswordsBusy, _busy)


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    """503 when every argon2 thread is taken and the waiting line is full (a login flood)."""
    detail = "too many passwords being checked at once: try again in a moment"
    return JSONResponse(body(503, detail), status_code=503, headers={"Retry-After": "1"})


async def token_pair(request: Request, user: User, family: str | None = None) -> Token:
    """New tokens; the refresh token joins `family` (the chain one login started) or starts one."""
    users: UserStore = request.app.state.users
    _, epoch = await users.session(user.username)
    refresh: RefreshTokens = request.app.state.refresh
    return Token(
        access_token=request.app.state.tokens.issue(user, epoch),
        expires_in=request.app.state.tokens.lifetime_seconds,
        refresh_token=await refresh.issue(user.username, epoch, family),
    )


async def weak(request: Request, password: str, username: str, field: str = "password") -> None:
    """422 naming the field when the password breaks the password policy."""
    policy: PasswordPolicy = request.app.state.password_policy
    if (why := await policy.check(password, username)) is not None:
        raise HTTPException(422, [{"loc": ["body", field], "msg": f"{field}: {why}", "type": "weak_password"}])


def wait(status: int, seconds: int, message: str) -> HTTPException:
    """A 429 (or `status`) telling when to try again."""
    when = f"{max(1, round(seconds / 60))} min" if seconds >= 60 else f"{seconds} s"
    return HTTPException(status, f"{message}, try again in {when}", headers={"Retry-After": str(seconds)})


WAITS = {
    "locked": "too many failed logins: account locked",
    "busy": "too many logins for this account at once",
    "client": "too many failed logins from your address: wait",
}


@auth_router.post(
    "/auth/token",
    response_model=Token,
    summary="Log in (OAuth2 password flow)",
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "locked, or too many failures from this address"},
        503: {"description": "too many logins being checked at once"},
    },
)
async def login(request: Request, form: Annotated[Credentials, Form()]) -> Token:
    """Exchange username and password for an access token and a refresh token; repeated failures lock.

    Each attempt is counted before its password is checked, so concurrent guesses get no more checks than allowed."""
    throttle: LoginThrottle = request.app.state.throttle
    client = request.client.host if request.client else "unknown"
    admission = await throttle.admit(client, form.username)
    if admission.verdict != "go":
        raise wait(429, admission.seconds, WAITS[admission.verdict])
    users: UserStore = request.app.state.users
    try:
        user = await users.authenticate(form.username, form.password)
    except PasswordsBusy:
        await throttle.not_checked(client, form.username)
        raise
    if user is None:
        if locked := await throttle.failed(form.username, admission.attempt):
            raise wait(429, locked, "wrong username or password, too many times: account locked")
        raise HTTPException(401, "wrong username or password, or account disabled", headers=_BEARER)
    await throttle.succeeded(client, form.username)
    return await token_pair(request, user)


@auth_router.post(
    "/auth/refresh", response_model=Token, summary="Swap a refresh token for new tokens", responses=errors(401, 429)
)
async def refresh(request: Request, body: RefreshRequest) -> Token:
    """A refresh token works once; the account must still be enabled and unchanged since it was issued. A token
    presented again after its use ends every refresh token of its chain (a stolen copy and the real one alike)."""
    store: RefreshTokens = request.app.state.refresh
    redeemed = await store.redeem(body.refresh_token)
    users: UserStore = request.app.state.users
    user, epoch = await users.session(redeemed.username) if redeemed else (None, "")
    if user is None or user.disabled or redeemed is None or redeemed.reused or redeemed.epoch != epoch:
        raise HTTPException(401, "refresh token unknown, used or expired, or account changed", headers=_BEARER)
    return await token_pair(request, user, redeemed.family)


@auth_router.post("/auth/logout", status_code=204, summary="End a refresh token")
async def logout(request: Request, body: RefreshRequest) -> None:
    """End the refresh token and its chain (the short-lived access token simply expires)."""
    store: RefreshTokens = request.app.state.refresh
    redeemed = await store.redeem(body.refresh_token)
    if redeemed is not None and not redeemed.reused:
        await store.revoke_family(redeemed.family)


@router.get("/users/me", response_model=User, tags=["users"], summary="Who you are")
async def me(user: CurrentUser) -> User:
    """Your username, role and jurisdiction."""
    return user


@router.get("/users", response_model=list[User], tags=["users"], summary="List users (admin)")
async def list_users(request: Request, admin: Admin) -> list[User]:
    """Every account inside your jurisdiction, by username."""
    users: UserStore = request.app.state.users
    return [user for user in await users.all() if admin.covers(user.region_code)]


@router.post(
    "/users",
    response_model=User,
    status_code=201,
    tags=["users"],
    summary="Create a user (admin)",
    responses=errors(409),
)
async def create_user(request: Request, new: NewUser, admin: Admin) -> User:
    """Create a staff account inside your jurisdiction (an admin: only of a strictly narrower one)."""
    if (why := admin.management_refusal(new.role, new.region_code)) is not None:
        raise HTTPException(403, why)
    await weak(request, new.password, new.username)
    users: UserStore = request.app.state.users
    try:
        created = await users.create(new)
    except UserExists as exc:
        raise HTTPException(409, f"username {new.username!r} is taken") from exc
    await audit_account(request, admin, "user.created", created)
    return created


async def managed(request: Request, admin: Caller, username: str) -> User:
    """The account `admin` may manage (404 unknown, 403 outside what they manage)."""
    users: UserStore = request.app.state.users
    target = await users.get(username)
    if target is None:
        raise HTTPException(404, f"no user {username!r}")
    if (why := admin.management_refusal(target.role, target.region_code)) is not None:
        raise HTTPException(403, f"user {username!r}: {why}")
    return target


async def audit_account(request: Request, admin: User, action: str, target: User) -> None:
    """Record a change to `target`'s account, in its jurisdiction."""
    audit: AuditTrail = request.app.state.audit
    await audit.record(admin.username, action, f"user:{target.username}", region=target.region_code)


async def end_sessions(request: Request, username: str) -> None:
    """End every refresh token of the account."""
    store: RefreshTokens = request.app.state.refresh
    await store.revoke_all(username)


def users_of(request: Request) -> UserStore:
    """The app's user store."""
    users: UserStore = request.app.state.users
    return users


@router.post(
    "/users/{username}/disable", response_model=User, tags=["users"], summary="Disable a user (admin)",
    responses=errors(409),
)  # fmt: skip
async def disable_user(request: Request, username: UsernamePath, admin: Admin) -> User:
    """The account can no longer log in; its access and refresh tokens stop working at once."""
    if username == admin.username:
        raise HTTPException(409, "you cannot disable your own account")
    target = await managed(request, admin, username)
    user = await users_of(request).set_disabled(username, True)
    await end_sessions(request, username)
    await audit_account(request, admin, "user.disabled", target)
    return user  # type: ignore[return-value]


@router.post("/users/{username}/enable", response_model=User, tags=["users"], summary="Enable a user (admin)")
async def enable_user(request: Request, username: UsernamePath, admin: Admin) -> User:
    """The account can log in again."""
    target = await managed(request, admin, username)
    user = await users_of(request).set_disabled(username, False)
    await audit_account(request, admin, "user.enabled", target)
    return user  # type: ignore[return-value]


@router.post(
    "/users/{username}/reset-password", response_model=User, tags=["users"], summary="Set a new password (admin)"
)
async def reset_password(
    request: Request, username: UsernamePath, body: Annotated[PasswordReset, Body()], admin: Admin
) -> User:
    """Replace the password, lift a lockout, and end the account's current tokens."""
    target = await managed(request, admin, username)
    await weak(request, body.password, username)
    user = await users_of(request).set_password(username, body.password)
    await end_sessions(request, username)
    throttle: LoginThrottle = request.app.state.throttle
    await throttle.clear(username)
    await audit_account(request, admin, "user.password_reset", target)
    return user  # type: ignore[return-value]
