"""Routes for logging in (access and refresh tokens, lockout) and for managing staff accounts (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from services.api.audit import AuditTrail
from services.api.auth import CurrentUser, RefreshTokens, RequireRole, within_jurisdiction
from services.api.throttle import LoginThrottle
from services.api.users import USERNAME_PATTERN, NewUser, Password, User, UserExists, UserStore
from services.common.settings import ApiSettings

router = APIRouter()
AdminUser = Annotated[User, Depends(RequireRole("admin"))]
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

    refresh_token: str = Field(min_length=1, max_length=200, examples=["kX1…"])


class PasswordReset(BaseModel):
    """Body of `POST /users/{username}/reset-password`."""

    password: Password


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Add the account routes, the refresh-token store and the login throttle to the app."""
    redis = app.state.redis
    app.state.refresh = RefreshTokens(redis, settings.refresh_token_hours)
    app.state.throttle = LoginThrottle(
        redis,
        settings.login_max_failures,
        settings.login_failure_window_minutes * 60,
        settings.login_lockout_minutes * 60,
    )
    app.include_router(router)


async def _pair(request: Request, user: User) -> Token:
    users: UserStore = request.app.state.users
    _, generation = await users.session(user.username)
    refresh: RefreshTokens = request.app.state.refresh
    return Token(
        access_token=request.app.state.tokens.issue(user, generation),
        expires_in=request.app.state.tokens.lifetime_seconds,
        refresh_token=await refresh.issue(user.username),
    )


def _locked(seconds: int, why: str) -> HTTPException:
    minutes = max(1, round(seconds / 60))
    message = f"{why}: account locked, try again in {minutes} min"
    return HTTPException(429, message, headers={"Retry-After": str(seconds)})


@router.post(
    "/auth/token",
    response_model=Token,
    tags=["auth"],
    summary="Log in (OAuth2 password flow)",
    responses={401: {"description": "wrong username or password"}, 429: {"description": "locked"}},
)
async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange username and password for an access token and a refresh token; repeated failures lock."""
    throttle: LoginThrottle = request.app.state.throttle
    if locked := await throttle.locked_for(form.username):
        raise _locked(locked, "too many failed logins")
    users: UserStore = request.app.state.users
    user = await users.authenticate(form.username, form.password)
    if user is None:
        if locked := await throttle.failed(form.username):
            raise _locked(locked, "wrong username or password, too many times")
        raise HTTPException(401, "wrong username or password, or account disabled", headers=_BEARER)
    await throttle.clear(form.username)
    return await _pair(request, user)


@router.post("/auth/refresh", response_model=Token, tags=["auth"], summary="Swap a refresh token for new tokens")
async def refresh(request: Request, body: RefreshRequest) -> Token:
    """A refresh token works once; the account must still be enabled."""
    store: RefreshTokens = request.app.state.refresh
    username = await store.redeem(body.refresh_token)
    users: UserStore = request.app.state.users
    user = await users.get(username) if username else None
    if user is None or user.disabled:
        raise HTTPException(401, "refresh token unknown, used or expired, or account disabled", headers=_BEARER)
    return await _pair(request, user)


@router.post("/auth/logout", status_code=204, tags=["auth"], summary="End a refresh token")
async def logout(request: Request, body: RefreshRequest) -> None:
    """Forget the refresh token (the short-lived access token simply expires)."""
    store: RefreshTokens = request.app.state.refresh
    await store.redeem(body.refresh_token)


@router.get("/users/me", response_model=User, tags=["users"], summary="Who you are")
async def me(user: CurrentUser) -> User:
    """Your username, role and jurisdiction."""
    return user


@router.get("/users", response_model=list[User], tags=["users"], summary="List users (admin)")
async def list_users(request: Request, admin: AdminUser) -> list[User]:
    """Every account inside your jurisdiction, by username."""
    users: UserStore = request.app.state.users
    return [user for user in await users.all() if within_jurisdiction(admin, user.region_code)]


@router.post("/users", response_model=User, status_code=201, tags=["users"], summary="Create a user (admin)")
async def create_user(request: Request, new: NewUser, admin: AdminUser) -> User:
    """Create a staff account with a role and a jurisdiction inside yours."""
    if not within_jurisdiction(admin, new.region_code):
        raise HTTPException(403, f"region_code {new.region_code} is outside your jurisdiction {admin.region_code}")
    users: UserStore = request.app.state.users
    try:
        created = await users.create(new)
    except UserExists as exc:
        raise HTTPException(409, f"username {new.username!r} is taken") from exc
    await _audit(request, admin, "user.created", new.username)
    return created


async def _managed(request: Request, admin: User, username: str) -> UserStore:
    users: UserStore = request.app.state.users
    target = await users.get(username)
    if target is None:
        raise HTTPException(404, f"no user {username!r}")
    if not within_jurisdiction(admin, target.region_code):
        raise HTTPException(403, f"user {username!r} is outside your jurisdiction")
    return users


async def _audit(request: Request, admin: User, action: str, username: str) -> None:
    audit: AuditTrail = request.app.state.audit
    await audit.record(admin.username, action, f"user:{username}")


async def _end_sessions(request: Request, username: str) -> None:
    store: RefreshTokens = request.app.state.refresh
    await store.revoke_all(username)


@router.post("/users/{username}/disable", response_model=User, tags=["users"], summary="Disable a user (admin)")
async def disable_user(request: Request, username: UsernamePath, admin: AdminUser) -> User:
    """The account can no longer log in; its access and refresh tokens stop working at once."""
    if username == admin.username:
        raise HTTPException(409, "you cannot disable your own account")
    users = await _managed(request, admin, username)
    user = await users.set_disabled(username, True)
    await _end_sessions(request, username)
    await _audit(request, admin, "user.disabled", username)
    return user  # type: ignore[return-value]


@router.post("/users/{username}/enable", response_model=User, tags=["users"], summary="Enable a user (admin)")
async def enable_user(request: Request, username: UsernamePath, admin: AdminUser) -> User:
    """The account can log in again."""
    users = await _managed(request, admin, username)
    user = await users.set_disabled(username, False)
    await _audit(request, admin, "user.enabled", username)
    return user  # type: ignore[return-value]


@router.post(
    "/users/{username}/reset-password", response_model=User, tags=["users"], summary="Set a new password (admin)"
)
async def reset_password(
    request: Request, username: UsernamePath, body: Annotated[PasswordReset, Body()], admin: AdminUser
) -> User:
    """Replace the password, lift a lockout, and end the account's current tokens."""
    users = await _managed(request, admin, username)
    user = await users.set_password(username, body.password)
    await _end_sessions(request, username)
    throttle: LoginThrottle = request.app.state.throttle
    await throttle.clear(username)
    await _audit(request, admin, "user.password_reset", username)
    return user  # type: ignore[return-value]
