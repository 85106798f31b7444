"""Staff accounts in Redis: roles, jurisdictions, argon2 password hashes and a token generation."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, StringConstraints
from redis.asyncio import Redis

Role = Literal["township_worker", "county_supervisor", "analyst", "admin"]
USERNAME_PATTERN = r"^[a-z0-9_.-]{3,32}$"
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^\d{2,12}$")]
Password = Annotated[str, Field(min_length=10, max_length=128, examples=["a-long-passphrase"])]
ADMIN_USERNAME = "admin"
_hasher = PasswordHasher()


class User(BaseModel):
    """A member of staff; `region_code` is the jurisdiction prefix ("" for the national admin)."""

    username: str = Field(examples=["li.township"])
    role: Role
    region_code: str = Field(examples=["532328101"])
    disabled: bool = False
    created_at: datetime


class NewUser(BaseModel):
    """Body of `POST /users`."""

    username: Username = Field(examples=["li.township"])
    password: Password
    role: Role = Field(examples=["township_worker"])
    region_code: Jurisdiction = Field(examples=["532328101"])


class UserExists(ValueError):
    """The username is taken."""


def valid_username(name: str) -> bool:
    """True when `name` could be a username (anything else never names an account)."""
    return re.fullmatch(USERNAME_PATTERN, name) is not None


async def _hash(password: str) -> str:
    """Argon2 in a worker thread: a login never stalls the event loop for other requests."""
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _key(username: str) -> str:
    return f"user:{username}"


class UserStore:
    """Users keyed by username; `generation` grows on every disable, enable or password reset."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def create(self, new: NewUser) -> User:
        """Add a user; raise UserExists if the name is taken."""
        return await self._insert(new.username, new.password, new.role, new.region_code)

    async def _insert(self, username: str, password: str, role: Role, region_code: str) -> User:
        user = User(username=username, role=role, region_code=region_code, created_at=datetime.now(UTC))
        record = {**user.model_dump(mode="json", exclude={"disabled"}), "password_hash": await _hash(password)}
        created = await self._redis.hsetnx(_key(username), "username", username)
        if not created:
            raise UserExists(username)
        await self._redis.hset(_key(username), mapping={**record, "disabled": "0", "generation": "0"})  # type: ignore[dict-item]
        return user

    async def session(self, username: str) -> tuple[User | None, int]:
        """The user (or None) and the token generation that tokens must carry."""
        record = {str(k): str(v) for k, v in (await self._redis.hgetall(_key(username))).items()}
        if "role" not in record:
            return None, 0
        user = User(
            username=record["username"],
            role=record["role"],  # type: ignore[arg-type]
            region_code=record["region_code"],
            disabled=record.get("disabled") == "1",
            created_at=datetime.fromisoformat(record["created_at"]),
        )
        return user, int(record.get("generation", "0"))

    async def get(self, username: str) -> User | None:
        """The user, or None."""
        return (await self.session(username))[0] if valid_username(username) else None

    async def all(self) -> list[User]:
        """Every user, by username."""
        names = [str(k)[5:] async for k in self._redis.scan_iter(match="user:*", count=1000)]
        users = [await self.get(name) for name in sorted(names) if valid_username(name)]
        return [user for user in users if user is not None]

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password matches and the account is enabled."""
        stored = await self._redis.hget(_key(username), "password_hash") if valid_username(username) else None
        if stored is None:
            await _hash(password)  # spend the same time as a real check
            return None
        if not await asyncio.to_thread(_verify, str(stored), password):
            return None
        user = await self.get(username)
        return user if user and not user.disabled else None

    async def set_disabled(self, username: str, disabled: bool) -> User | None:
        """Disable or enable the account (ending its tokens); None if there is no such user."""
        return await self._update(username, {"disabled": "1" if disabled else "0"})

    async def set_password(self, username: str, password: str) -> User | None:
        """Replace the password (ending the account's tokens); None if there is no such user."""
        return await self._update(username, {"password_hash": await _hash(password)})

    async def _update(self, username: str, fields: dict[str, str]) -> User | None:
        if await self.get(username) is None:
            return None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_key(username), mapping=fields)  # type: ignore[arg-type]
            pipe.hincrby(_key(username), "generation", 1)
            await pipe.execute()
        return await self.get(username)

    async def ensure_admin(self, password: str | None) -> str | None:
        """Create the first admin if missing; return the generated password when one was made up."""
        if await self._redis.exists(_key(ADMIN_USERNAME)):
            return None
        generated = None if password else secrets.token_urlsafe(12)
        try:
            await self._insert(ADMIN_USERNAME, password or generated or "", "admin", "")
        except UserExists:
            return None
        return generated
