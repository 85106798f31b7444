"""Staff accounts in Redis: roles, jurisdictions and argon2 password hashes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, StringConstraints
from redis.asyncio import Redis

Role = Literal["township_worker", "county_supervisor", "analyst", "admin"]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.-]{3,32}$")]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^\d{2,12}$")]
ADMIN_USERNAME = "admin"
_hasher = PasswordHasher()


class User(BaseModel):
    """A member of staff; `region_code` is the jurisdiction prefix ("" for the national admin)."""

    username: str
    role: Role
    region_code: str
    disabled: bool = False
    created_at: datetime


class NewUser(BaseModel):
    """Body of `POST /users`."""

    username: Username = Field(examples=["li.township"])
    password: str = Field(min_length=10, max_length=128, examples=["a-long-passphrase"])
    role: Role = Field(examples=["township_worker"])
    region_code: Jurisdiction = Field(examples=["532328101"])


class UserExists(ValueError):
    """The username is taken."""


class UserStore:
    """Users keyed by username."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def create(self, new: NewUser) -> User:
        """Add a user; raise UserExists if the name is taken."""
        return await self._insert(new.username, new.password, new.role, new.region_code)

    async def _insert(self, username: str, password: str, role: Role, region_code: str) -> User:
        user = User(username=username, role=role, region_code=region_code, created_at=datetime.now(UTC))
        record = {**user.model_dump(mode="json", exclude={"disabled"}), "password_hash": _hasher.hash(password)}
        created = await self._redis.hsetnx(f"user:{username}", "username", username)
        if not created:
            raise UserExists(username)
        await self._redis.hset(f"user:{username}", mapping={**record, "disabled": "0"})  # type: ignore[dict-item]
        return user

    async def get(self, username: str) -> User | None:
        """The user, or None."""
        record = {str(k): str(v) for k, v in (await self._redis.hgetall(f"user:{username}")).items()}
        if "role" not in record:
            return None
        return User(
            username=record["username"],
            role=record["role"],  # type: ignore[arg-type]
            region_code=record["region_code"],
            disabled=record.get("disabled") == "1",
            created_at=datetime.fromisoformat(record["created_at"]),
        )

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password matches and the account is enabled."""
        stored = await self._redis.hget(f"user:{username}", "password_hash")
        if stored is None:
            _hasher.hash(password)  # spend the same time as a real check
            return None
        try:
            _hasher.verify(str(stored), password)
        except (VerificationError, InvalidHashError):
            return None
        user = await self.get(username)
        return user if user and not user.disabled else None

    async def ensure_admin(self, password: str | None) -> str | None:
        """Create the first admin if missing; return the generated password when one was made up."""
        if await self._redis.exists(f"user:{ADMIN_USERNAME}"):
            return None
        generated = None if password else secrets.token_urlsafe(12)
        try:
            await self._insert(ADMIN_USERNAME, password or generated or "", "admin", "")
        except UserExists:
            return None
        return generated
