"""Access tokens (JWT) and the FastAPI dependencies that identify the caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from services.api.users import Role, User, UserStore

oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token")


class TokenIssuer:
    """Signs and checks short-lived HS256 access tokens."""

    def __init__(self, secret: str, minutes: int):
        self._secret = secret
        self._lifetime = timedelta(minutes=minutes)

    def issue(self, user: User) -> str:
        """A token naming the user; role and jurisdiction are re-read from the store on each request."""
        now = datetime.now(UTC)
        claims = {"sub": user.username, "iat": now, "exp": now + self._lifetime, "typ": "access"}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def subject(self, token: str) -> str:
        """The username in a valid token; raises 401 otherwise."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as exc:
            raise HTTPException(401, f"invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}) from exc
        if claims.get("typ") != "access":
            raise HTTPException(401, "not an access token", headers={"WWW-Authenticate": "Bearer"})
        return str(claims["sub"])


async def current_user(request: Request, token: Annotated[str, Depends(oauth2)]) -> User:
    """The caller, from the bearer token; disabled or deleted users are refused."""
    username = request.app.state.tokens.subject(token)
    store: UserStore = request.app.state.users
    user = await store.get(username)
    if user is None or user.disabled:
        raise HTTPException(401, "user unknown or disabled", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


class RequireRole:
    """Dependency that lets only the given roles through (403 otherwise)."""

    def __init__(self, *roles: Role):
        self.roles = roles

    async def __call__(self, user: CurrentUser) -> User:
        if user.role not in self.roles:
            raise HTTPException(403, f"this action needs the role {' or '.join(self.roles)}; you are {user.role}")
        return user


def within_jurisdiction(user: User, region_code: str) -> bool:
    """True when the region lies inside the user's jurisdiction."""
    return region_code.startswith(user.region_code)
