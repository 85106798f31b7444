"""Routes for logging in (access and refresh tokens, throttling) and for managing staff accounts (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, FastAPI, Form, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.audit import AuditTrail
from services.api.dependencies import ApiServices, CurrentUser, Refresh, Services, Throttle, Users
from services.api.passwords import PasswordPolicy
from services.api.permissions import Admin
from services.api.scoped import AccountsInJurisdiction, AccountToDisable, ManagedAccount, NewScopedAccount
from services.api.users import (
    PASSWORD_MAX,
    USERNAME_MAX,
    Password,
    PasswordsBusy,
    User,
    UserExists,
)
from services.common.errors import body, errors
from services.common.settings import ApiSettings

auth_router = APIRouter(tags=["auth"])  # unauthenticated: its own, smaller body limit
router = APIRouter()
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
    """Add the account routes (logging in with its own, smaller body limit) and the answer to a login flood."""
    app.include_router(auth_router, max_body_size=settings.api_auth_max_body_bytes)
    app.include_router(router)
    app.add_exception_handler(PasswordsBusy, _busy)


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    """503 when every argon2 thread is taken and the waiting line is full (a login flood)."""
    detail = "too many passwords being checked at once: try again in a moment"
    return JSONResponse(body(503, detail), status_code=503, headers={"Retry-After": "1"})


async def token_pair(services: ApiServices, user: User, family: str | None = None) -> Token:
    """New tokens; the refresh token joins `family` (the chain one login started) or starts one."""
    _, epoch = await services.users.session(user.username)
    return Token(
        access_token=services.tokens.issue(user, epoch),
        expires_in=services.tokens.lifetime_seconds,
        refresh_token=await services.refresh.issue(user.username, epoch, family),
    )


async def weak(policy: PasswordPolicy, password: str, username: str, field: str = "password") -> None:
    """422 naming the field when the password breaks the password policy."""
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
async def login(
    request: Request, form: Annotated[Credentials, Form()], throttle: Throttle, users: Users, services: Services
) -> Token:
    """Exchange username and password for an access token and a refresh token; repeated failures lock.

    Each attempt is counted before its password is checked, so concurrent guesses get no more checks than allowed."""
    client = request.client.host if request.client else "unknown"
    admission = await throttle.admit(client, form.username)
    if admission.verdict != "go":
        raise wait(429, admission.seconds, WAITS[admission.verdict])
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
    return await token_pair(services, user)


@auth_router.post(
    "/auth/refresh", response_model=Token, summary="Swap a refresh token for new tokens", responses=errors(401, 429)
)
async def refresh(body: RefreshRequest, store: Refresh, users: Users, services: Services) -> Token:
    """A refresh token works once; the account must still be enabled and unchanged since it was issued. A token
    presented again after its use ends every refresh token of its chain (a stolen copy and the real one alike)."""
    redeemed = await store.redeem(body.refresh_token)
    user, epoch = await users.session(redeemed.username) if redeemed else (None, "")
    if user is None or user.disabled or redeemed is None or redeemed.reused or redeemed.epoch != epoch:
        raise HTTPException(401, "refresh token unknown, used or expired, or account changed", headers=_BEARER)
    return await token_pair(services, user, redeemed.family)


@auth_router.post("/auth/logout", status_code=204, summary="End a refresh token")
async def logout(body: RefreshRequest, store: Refresh) -> None:
    """End the refresh token and its chain (the short-lived access token simply expires)."""
    redeemed = await store.redeem(body.refresh_token)
    if redeemed is not None and not redeemed.reused:
        await store.revoke_family(redeemed.family)


@router.get("/users/me", response_model=User, tags=["users"], summary="Who you are")
async def me(user: CurrentUser) -> User:
    """Your username, role and jurisdiction."""
    return user


@router.get("/users", response_model=list[User], tags=["users"], summary="List users (admin)")
async def list_users(admin: Admin, accounts: AccountsInJurisdiction) -> list[User]:
    """Every account inside your jurisdiction, by username."""
    return accounts


@router.post(
    "/users",
    response_model=User,
    status_code=201,
    tags=["users"],
    summary="Create a user (admin)",
    responses=errors(409),
)
async def create_user(new: NewScopedAccount, admin: Admin, users: Users, services: Services) -> User:
    """Create a staff account inside your jurisdiction (an admin: only of a strictly narrower one)."""
    await weak(services.password_policy, new.password, new.username)
    try:
        created = await users.create(new)
    except UserExists as exc:
        raise HTTPException(409, f"username {new.username!r} is taken") from exc
    await audit_account(services.audit, admin, "user.created", created)
    return created


async def audit_account(audit: AuditTrail, admin: User, action: str, target: User) -> None:
    """Record a change to `target`'s account, in its jurisdiction."""
    await audit.record(admin.username, action, f"user:{target.username}", region=target.region_code)


@router.post(
    "/users/{username}/disable", response_model=User, tags=["users"], summary="Disable a user (admin)",
    responses=errors(409),
)  # fmt: skip
async def disable_user(target: AccountToDisable, admin: Admin, services: Services) -> User:
    """The account can no longer log in; its access and refresh tokens stop working at once."""
    user = await services.users.set_disabled(target.username, True)
    await services.refresh.revoke_all(target.username)
    await audit_account(services.audit, admin, "user.disabled", target)
    return user  # type: ignore[return-value]


@router.post("/users/{username}/enable", response_model=User, tags=["users"], summary="Enable a user (admin)")
async def enable_user(target: ManagedAccount, admin: Admin, services: Services) -> User:
    """The account can log in again."""
    user = await services.users.set_disabled(target.username, False)
    await audit_account(services.audit, admin, "user.enabled", target)
    return user  # type: ignore[return-value]


@router.post(
    "/users/{username}/reset-password", response_model=User, tags=["users"], summary="Set a new password (admin)"
)
async def reset_password(
    target: ManagedAccount, body: Annotated[PasswordReset, Body()], admin: Admin, services: Services
) -> User:
    """Replace the password, lift a lockout, and end the account's current tokens."""
    await weak(services.password_policy, body.password, target.username)
    user = await services.users.set_password(target.username, body.password)
    await services.refresh.revoke_all(target.username)
    await services.throttle.clear(target.username)
    await audit_account(services.audit, admin, "user.password_reset", target)
    return user  # type: ignore[return-value]
